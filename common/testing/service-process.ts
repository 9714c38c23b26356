import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A JSON log line as an object; undefined for any other line. */
export function parsedLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface ServiceProcess {
  /** The URL the service logged as ready. */
  url: string;
  /** Every line it wrote, so far, to each stream. */
  stdout: string[];
  stderr: string[];
  child: ChildProcess;
  stop: () => Promise<void>;
}

/**
 * Runs a service's `main.ts` in a process of its own, as production does (its own stdout and
 * stderr, its own NODE_ENV), compiled as Jest compiles it (decorator metadata included, which
 * the subgraphs need), and resolves with the URL of its JSON "ready" log line.
 */
export async function startServiceProcess(
  entry: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['-r', join(__dirname, 'swc-register.js'), entry], {
    // At `info`, whatever the environment says: the ready line is an `info` line.
    env: { ...process.env, ...env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    stdio: 'pipe',
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start: ${stderr.join('\n')}`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code}): ${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout.push(line);
      const url = parsedLine(line)?.url;
      if (typeof url === 'string') {
        clearTimeout(timer);
        resolve(url);
      }
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  try {
    return { url: await ready, stdout, stderr, child, stop };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
