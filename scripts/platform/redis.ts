import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { type DataStore, externalDataStore, redactUrl } from './data-store';
import { portFromEnv } from '../../common/config/load-config';
import { errorMessage } from './errors';
import { findOnPath } from './executables';
import { assertPortFree } from './ports';
import { failWhenExits, spawnLogged, stopProcess } from './processes';
import { keptSecret, ownerOnlyDirectory } from './secrets';
import { waitUntil } from './wait';

const DEFAULT_PORT = 6380;

/** The options every Redis the platform starts shares (docker-compose.yml mounts the same file). */
export const REDIS_CONF = 'redis.conf';

const INSTALL_HINT =
  'Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) ' +
  'so a local redis-server can be started, or set REDIS_URL to a running Redis (e.g. redis://127.0.0.1:6379).';

/** Resolves if Redis at `url` answers PING; one attempt, no retries, no reconnecting client left behind. */
export async function checkRedis(url: string): Promise<void> {
  await withRedis(url, (client) => client.ping());
}

/** One command session on a client that neither retries nor reconnects, and is always let go. */
async function withRedis<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
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
    return await use(client);
  } catch (error) {
    throw cause ?? error;
  } finally {
    // A client that failed has ended already; disconnecting it again would leave a 2s timer behind.
    if (client.status !== 'end') client.disconnect();
  }
}

export interface ProvideRedisOptions {
  /** Where a Redis started here keeps its append-only file; its log goes to `<dataDir>.log`. */
  dataDir: string;
  /** Where the password of a Redis started here is kept (generated on first use). */
  passwordFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Redis at REDIS_URL if that is set (checked to answer), else a redis-server from PATH started
 * here on EMBEDDED_REDIS_PORT (default 6380, clear of a system Redis on 6379), with the options of
 * redis.conf and a password.
 */
export async function provideRedis({
  dataDir,
  passwordFile,
  env = process.env,
}: ProvideRedisOptions): Promise<DataStore> {
  const url = env.REDIS_URL;
  if (url) {
    await checkRedis(url).catch((error: unknown) => {
      throw new Error(`Redis at REDIS_URL (${redactUrl(url)}) does not answer: ${errorMessage(error)}`);
    });
    return externalDataStore(url);
  }
  return startRedis(
    resolve(dataDir),
    portFromEnv(env, 'EMBEDDED_REDIS_PORT', DEFAULT_PORT),
    await keptSecret(passwordFile),
    passwordFile,
  );
}

/**
 * Redis started with `appendonly yes` and no append-only file starts empty, ignoring a snapshot:
 * a directory from before the append-only file (dump.rdb alone) would lose its data.
 */
const hasSnapshotOnly = (dataDir: string) =>
  existsSync(join(dataDir, 'dump.rdb')) && !existsSync(join(dataDir, 'appendonlydir'));

/**
 * Turns the append-only file on in a Redis that loaded a snapshot, and waits until the file
 * holds the whole dataset (its first rewrite is done), so the next start can load it instead.
 */
async function switchToAppendOnly(url: string, giveUpWhen: Promise<never>): Promise<void> {
  await withRedis(url, (client) => client.config('SET', 'appendonly', 'yes'));
  await waitUntil(
    'Redis writing its first append-only file',
    () =>
      withRedis(url, async (client) => {
        const info = await client.info('persistence');
        const written =
          /aof_enabled:1/.test(info) &&
          /aof_rewrite_in_progress:0/.test(info) &&
          /aof_rewrite_scheduled:0/.test(info);
        if (!written) throw new Error('not yet');
        if (!/aof_last_bgrewrite_status:ok/.test(info)) throw new Error('the rewrite failed (see its log)');
      }),
    { timeoutMs: 60_000, giveUpWhen },
  );
}

async function startRedis(
  dataDir: string,
  port: number,
  password: string,
  passwordFile: string,
): Promise<DataStore> {
  const redisServer = findOnPath('redis-server');
  if (!redisServer) throw new Error(`Redis: no redis-server on PATH. ${INSTALL_HINT}`);
  // It goes into redis.conf syntax and a URL as it is: keep it to characters neither needs escaped.
  if (!/^[\w-]+$/.test(password)) {
    throw new Error(`Redis: the password in ${passwordFile} may hold only letters, digits, '-' and '_'`);
  }
  await assertPortFree(
    port,
    'Redis',
    'Set EMBEDDED_REDIS_PORT to another port, or REDIS_URL to use a running Redis.',
  );
  // The append-only file holds sessions' revocations and everything else: for its owner only.
  await ownerOnlyDirectory(dataDir);
  const upgrading = hasSnapshotOnly(dataDir);
  const logPath = `${dataDir}.log`;
  const server = spawnLogged(
    redisServer,
    [
      join(projectRoot(), REDIS_CONF),
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir],
      // Load the snapshot first; switchToAppendOnly() then writes it into the append-only file.
      ...(upgrading ? ['--appendonly', 'no'] : []),
      // Log to stdout, which spawnLogged sends to the log file.
      ...['--daemonize', 'no', '--logfile', ''],
      // The password comes on stdin: arguments are visible to every local user in the process list.
      '-',
    ],
    { logPath, cwd: dirname(dataDir), stdin: 'pipe' },
  );
  server.stdin?.on('error', () => undefined); // a server that exits at once fails below, with its log
  server.stdin?.end(`requirepass ${password}\n`);
  const url = `redis://:${password}@127.0.0.1:${port}`;
  // SIGTERM makes redis-server fsync its append-only file and exit.
  const stop = () => stopProcess(server, { signal: 'SIGTERM', timeoutMs: 30_000 });
  try {
    const exits = failWhenExits(server, 'redis-server', logPath);
    await waitUntil(`Redis on port ${port}`, () => checkRedis(url), { timeoutMs: 15_000, giveUpWhen: exits });
    if (upgrading) await switchToAppendOnly(url, exits);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: server.pid, stop };
}
