import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import type { Logger } from '../logging/logger';
import { coalesceTickWrites } from '../util/tick-writes';

export interface RedisOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or Sentinel:
   * `redis+sentinel://[user:password@]host:port[,host:port…]/<master name>[/db]` (docs/scaling.md#redis).
   */
  url: string;
  /** Prefix for every key this client writes; tests give each file its own. */
  keyPrefix?: string;
  logger: Logger;
}

/** See createRedis: a closing socket is destroyed if it has not closed by then. */
const DISCONNECT_TIMEOUT_MS = 100;

const SENTINEL_SCHEMES = ['redis+sentinel:', 'rediss+sentinel:'];
const DEFAULT_SENTINEL_PORT = 26379;

/**
 * How to reach Redis from its URL: ioredis reads plain and TLS URLs itself; a Sentinel URL lists
 * the sentinels and names the master they elect. The password is the master's; sentinels that
 * need one of their own take `?sentinelPassword=`.
 */
export function redisConnection(url: string): { url?: string; options: IORedisOptions } {
  const scheme = url.slice(0, url.indexOf('//'));
  if (!SENTINEL_SCHEMES.includes(scheme)) return { url, options: {} };
  // URL cannot parse a host list: it is cut out of the authority, and the rest parsed as usual.
  const afterScheme = url.slice(scheme.length + 2);
  const authority = afterScheme.split(/[/?]/, 1)[0];
  const at = authority.lastIndexOf('@');
  const hosts = authority.slice(at + 1);
  const parsed = new URL(
    `${scheme}//${authority.slice(0, at + 1)}sentinels${afterScheme.slice(authority.length)}`,
  );
  const [name, db] = parsed.pathname.split('/').filter(Boolean);
  if (!name)
    throw new Error('A Sentinel Redis URL names its master: redis+sentinel://host:port/<master name>');
  const tls = scheme === 'rediss+sentinel:';
  return {
    options: {
      sentinels: hosts.split(',').map((host) => {
        const [hostname, port] = host.split(':');
        return { host: hostname, port: port ? Number(port) : DEFAULT_SENTINEL_PORT };
      }),
      name,
      db: db ? Number(db) : undefined,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      sentinelPassword: parsed.searchParams.get('sentinelPassword') ?? undefined,
      ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    },
  };
}

/**
 * The one way every service connects to Redis. It fails fast while Redis is away: commands reject
 * at once instead of queueing, so callers fall back (cache → PostgreSQL) rather than hang. It
 * reconnects by itself, through the sentinels to whichever master they elect. Commands issued in the
 * same tick leave in one write (many turns' commands at once in a burst: docs/performance.md, "Ninth
 * round"): each connection's socket is corked until the tick ends, which costs a lone command far less
 * than ioredis's auto-pipelining, a pipeline object per tick ("Sixteenth round").
 */
export function createRedis({ url, keyPrefix, logger }: RedisOptions): Redis {
  const connection = redisConnection(url);
  const options: IORedisOptions = {
    ...connection.options,
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // How long a closed connection's socket may take to close before it is destroyed. A close that cuts
    // ioredis's ready check short makes it close a second time after the socket has gone, and that
    // close's timer, which only the socket's closing clears, runs its whole length: with the default 2 s
    // a stopped service's process, or a test's worker, stayed alive for it.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  const redis = connection.url ? new Redis(connection.url, options) : new Redis(options);
  redis.on('connect', () => coalesceTickWrites(redis.stream));
  let reported = false;
  redis.on('error', (error: Error) => {
    if (!reported) logger.warn({ err: error }, 'redis unavailable, retrying');
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info('redis connection restored');
    reported = false;
  });
  redis.connect().catch(() => undefined);
  return redis;
}
