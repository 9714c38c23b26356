/** Reads a TCP port from the environment, rejecting anything that is not one so a typo fails at start. */
export function portFromEnv(env: NodeJS.ProcessEnv, name: string, defaultPort: number): number {
  const value = env[name]?.trim();
  if (!value) return defaultPort;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a TCP port (1-65535), got "${value}"`);
  }
  return port;
}
