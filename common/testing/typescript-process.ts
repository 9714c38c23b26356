import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/**
 * Runs a TypeScript entry point of this repository in a child Node process, compiled on the fly
 * by tsx, for tests of command-line programs (no build needed, any working directory).
 */
export function spawnTypeScript(
  entry: string,
  args: string[] = [],
  options: SpawnOptions = {},
): ChildProcess {
  const loader = pathToFileURL(require.resolve('tsx')).href;
  return spawn(process.execPath, ['--import', loader, entry, ...args], { stdio: 'pipe', ...options });
}
