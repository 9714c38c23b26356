import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { findOnPath } from '../../scripts/platform/executables';
import { exited, failWhenExits, spawnLogged } from '../../scripts/platform/processes';
import { checkRedis } from '../../scripts/platform/redis';
import { waitUntil } from '../../scripts/platform/wait';
import { freePort } from '../../common/testing/ports';

/**
 * `none`: no snapshot, no append-only file: a crash loses everything (as `npm start`'s snapshot a
 * minute after a write does in a short outage). `append-only`: fsync every second, as deployed.
 */
export type RedisPersistence = 'none' | 'append-only';

export interface OwnRedis {
  url: string;
  /** Kills the server by its pid, as a crash would (SIGKILL: no snapshot, no last fsync). */
  kill: () => Promise<void>;
  /** Starts it again on the same port and directory, with whatever it had persisted. */
  restart: () => Promise<void>;
  /** Stops it for good (a test's cleanup). */
  stop: () => Promise<void>;
}

const PERSISTENCE_FLAGS: Record<RedisPersistence, string[]> = {
  none: ['--save', '', '--appendonly', 'no'],
  'append-only': ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'],
};

/**
 * A redis-server of a fault test's own, on a free port with its data in `dir`: the test kills
 * and restarts this one, never the machine's shared Redis.
 */
export async function startOwnRedis(dir: string, persistence: RedisPersistence): Promise<OwnRedis> {
  const program = findOnPath('redis-server');
  if (!program) throw new Error('fault tests need redis-server on PATH');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const launch = async () => {
    // A restart "without its data" finds the directory gone.
    await mkdir(dir, { recursive: true });
    const logPath = `${dir}.log`;
    const child = spawnLogged(
      program,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...PERSISTENCE_FLAGS[persistence]],
      { logPath },
    );
    server = child;
    await waitUntil(`own Redis on port ${port}`, () => checkRedis(url), {
      timeoutMs: 15_000,
      giveUpWhen: failWhenExits(child, 'redis-server', logPath),
    });
  };
  const kill = async () => {
    const child = server;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const gone = exited(child);
    process.kill(child.pid, 'SIGKILL');
    await gone;
  };
  await launch();
  return { url, kill, restart: launch, stop: kill };
}
