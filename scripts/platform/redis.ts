import { Redis } from 'ioredis';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type DataStore, externalDataStore, redactUrl } from './data-store';
import { portFromEnv } from './env';
import { errorMessage } from './errors';
import { findOnPath } from './executables';
import { assertPortFree } from './ports';
import { failWhenExits, spawnLogged, stopProcess } from './processes';
import { waitUntil } from './wait';

const DEFAULT_PORT = 6380;

const INSTALL_HINT =
  'Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) ' +
  'so a local redis-server can be started, or set REDIS_URL to a running Redis (e.g. redis://127.0.0.1:6379).';

/** Resolves if Redis at `url` answers PING; one attempt, no retries, no reconnecting client left behind. */
export async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // connect() only says "Connection is closed."; the 'error' event has the cause (ECONNREFUSED, NOAUTH...).
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw cause ?? error;
  } finally {
    // A client that failed has ended already; disconnecting it again would leave a 2s timer behind.
    if (client.status !== 'end') client.disconnect();
  }
}

export interface ProvideRedisOptions {
  /** Where a Redis started here keeps its snapshot (dump.rdb); its log goes to `<dataDir>.log`. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Redis at REDIS_URL if that is set (checked to answer), else a redis-server from PATH started
 * here on EMBEDDED_REDIS_PORT (default 6380, clear of a system Redis on 6379).
 */
export async function provideRedis({ dataDir, env = process.env }: ProvideRedisOptions): Promise<DataStore> {
  const url = env.REDIS_URL;
  if (url) {
    await checkRedis(url).catch((error: unknown) => {
      throw new Error(`Redis at REDIS_URL (${redactUrl(url)}) does not answer: ${errorMessage(error)}`);
    });
    return externalDataStore(url);
  }
  return startRedis(resolve(dataDir), portFromEnv(env, 'EMBEDDED_REDIS_PORT', DEFAULT_PORT));
}

async function startRedis(dataDir: string, port: number): Promise<DataStore> {
  const redisServer = findOnPath('redis-server');
  if (!redisServer) throw new Error(`Redis: no redis-server on PATH. ${INSTALL_HINT}`);
  await assertPortFree(
    port,
    'Redis',
    'Set EMBEDDED_REDIS_PORT to another port, or REDIS_URL to use a running Redis.',
  );
  await mkdir(dataDir, { recursive: true });
  const logPath = `${dataDir}.log`;
  const server = spawnLogged(
    redisServer,
    [
      ...['--port', String(port), '--bind', '127.0.0.1'],
      // Snapshot to <dataDir>/dump.rdb a minute after any write, and on shutdown, so data outlives restarts.
      ...['--dir', dataDir, '--save', '60 1', '--appendonly', 'no'],
      // Log to stdout, which spawnLogged sends to the log file.
      ...['--daemonize', 'no', '--logfile', ''],
    ],
    { logPath, cwd: dirname(dataDir) },
  );
  const url = `redis://127.0.0.1:${port}`;
  // SIGTERM makes redis-server save its snapshot and exit; a big dataset can take a while to write.
  const stop = () => stopProcess(server, { signal: 'SIGTERM', timeoutMs: 30_000 });
  try {
    await waitUntil(`Redis on port ${port}`, () => checkRedis(url), {
      timeoutMs: 15_000,
      giveUpWhen: failWhenExits(server, 'redis-server', logPath),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: server.pid, stop };
}
