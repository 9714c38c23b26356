import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** A user other than the current one to run a server as (PostgreSQL refuses to run as root). */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

export interface SpawnLoggedOptions {
  /** The server's stdout and stderr are appended here, so its own messages survive for diagnosis. */
  logPath: string;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  runAs?: RunAs;
  /** 'pipe' gives the child a stdin that closes when this process dies, however it dies. */
  stdin?: 'ignore' | 'pipe';
}

/**
 * Spawns a server in its own process group: Ctrl-C in a terminal signals the whole foreground
 * group at once, and start.ts needs the servers to hear it from start.ts only, in order
 * (services first, data stores last).
 */
export function spawnLogged(command: string, args: string[], options: SpawnLoggedOptions): ChildProcess {
  const log = openSync(options.logPath, 'a');
  try {
    return spawn(command, args, {
      cwd: options.cwd,
      env: options.env && { ...process.env, ...options.env },
      stdio: [options.stdin ?? 'ignore', log, log],
      detached: true,
      uid: options.runAs?.uid,
      gid: options.runAs?.gid,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
}

/** Resolves once the child has exited, or failed to start at all. */
export function exited(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve();
    });
  });
}

/** The last lines of a log file, to quote in an error. */
export async function logTail(logPath: string, lines = 10): Promise<string> {
  const maxBytes = 8192;
  try {
    const file = await open(logPath, 'r');
    try {
      const { size } = await file.stat();
      const start = Math.max(0, size - maxBytes);
      const { buffer, bytesRead } = await file.read(Buffer.alloc(size - start), 0, size - start, start);
      return buffer.subarray(0, bytesRead).toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}

/**
 * Rejects when the child exits or cannot be spawned, naming it and quoting the end of its log if
 * it has one. Meant as `giveUpWhen` for a wait on a server that is starting; never unhandled.
 */
export function failWhenExits(child: ChildProcess, what: string, logPath?: string): Promise<never> {
  const failure = new Promise<never>((_, reject) => {
    const fail = async (reason: string) => {
      const tail = logPath ? await logTail(logPath) : '';
      const where = !logPath ? '' : tail ? `; the end of ${logPath}:\n${tail}` : ` (see ${logPath})`;
      reject(new Error(`${what} ${reason}${where}`));
    };
    child.once('error', (error) => {
      if (child.pid === undefined) void fail(`could not be started: ${error.message}`);
    });
    child.once('exit', () => void fail(describeExit(child)));
  });
  failure.catch(() => undefined);
  return failure;
}

/**
 * Runs a command to completion, its output appended to a log; rejects if it does not exit 0.
 * `input` is written to its stdin (a secret goes there rather than into its arguments, which
 * every local user can read in the process list).
 */
export async function runLogged(
  what: string,
  command: string,
  args: string[],
  { input, ...options }: SpawnLoggedOptions & { input?: string },
): Promise<void> {
  const child = spawnLogged(command, args, input === undefined ? options : { ...options, stdin: 'pipe' });
  child.stdin?.on('error', () => undefined); // a child that exits early fails below, with its log
  child.stdin?.end(input);
  const failure = failWhenExits(child, what, options.logPath);
  await exited(child);
  if (child.exitCode !== 0) await failure;
}

export interface StopOptions {
  signal: NodeJS.Signals;
  timeoutMs: number;
}

/**
 * Sends `signal` to the child and waits for it to exit; after `timeoutMs` its whole process group
 * gets SIGKILL (a server's own children too, e.g. PostgreSQL's backends).
 */
export async function stopProcess(child: ChildProcess, { signal, timeoutMs }: StopOptions): Promise<void> {
  const pid = child.pid;
  if (hasExited(child) || pid === undefined) return;
  const done = exited(child);
  child.kill(signal);
  const killer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }, timeoutMs);
  await done;
  clearTimeout(killer);
}
