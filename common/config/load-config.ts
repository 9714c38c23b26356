import { z } from 'zod';

/** Raised when the environment does not satisfy a service's configuration schema. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates environment variables against a zod shape whose keys are the variable names.
 * Every problem is reported at once, each naming its variable, so a bad start is fixed in one go.
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const parsed = z.object(shape).safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** How many times something may be done per window: `POINTS/SECONDS` in the environment. */
export interface Budget {
  points: number;
  durationSeconds: number;
}

export const env = {
  /**
   * A TCP port to listen on. 0 lets the system pick a free one (a service a test starts), unless
   * `anyFree` is false: where other processes are told the port, it has to be a real one.
   */
  port: (defaultPort: number, { anyFree = true }: { anyFree?: boolean } = {}) =>
    z.coerce
      .number()
      .int('must be a TCP port')
      .min(anyFree ? 0 : 1, `must be a TCP port (${anyFree ? 0 : 1}-65535)`)
      .max(65535, `must be a TCP port (${anyFree ? 0 : 1}-65535)`)
      .default(defaultPort),
  url: () => z.url(),
  redisUrl: () => z.string().startsWith('redis', 'must be a redis:// URL'),
  postgresUrl: () => z.string().startsWith('postgres', 'must be a postgres:// URL'),
  boolean: (defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(defaultValue ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  int: (defaultValue: number, min = 0) => z.coerce.number().int().min(min).default(defaultValue),
  list: (defaultValue: string[] = []) =>
    z
      .string()
      .default(defaultValue.join(','))
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  /** Shared HMAC secret for the gateway's signed identity; never defaulted, so no two deployments share one. */
  identitySecret: () =>
    z.string().min(32, 'must be at least 32 characters (generate one with `openssl rand -hex 32`)'),
  budget: (defaults: Budget) =>
    z
      .string()
      .regex(/^\d+\/\d+$/, 'must be POINTS/SECONDS, e.g. 600/60')
      .default(`${defaults.points}/${defaults.durationSeconds}`)
      .transform((value): Budget => {
        const [points, durationSeconds] = value.split('/').map(Number);
        return { points, durationSeconds };
      })
      .refine((b) => b.points > 0 && b.durationSeconds > 0, 'points and seconds must be positive'),
  host: () => z.string().min(1).default('127.0.0.1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  /** PostgreSQL schema names are interpolated into DDL, so only plain identifiers are accepted. */
  pgSchema: (defaultSchema: string) =>
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default(defaultSchema),
};

/**
 * One port variable on its own, where other processes are told the port (npm start tells each service
 * where the others and the data stores listen): 1-65535, never 0.
 */
export const portFromEnv = (source: NodeJS.ProcessEnv, name: string, defaultPort: number): number =>
  loadConfig({ [name]: env.port(defaultPort, { anyFree: false }) }, source)[name];
