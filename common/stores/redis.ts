import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';

export interface RedisOptions {
  url: string;
  /** Prefix for every key this client writes; tests give each file its own. */
  keyPrefix?: string;
  logger: Logger;
}

/**
 * A Redis client that fails fast while Redis is away: commands reject at once instead of
 * queueing, so callers fall back (cache → PostgreSQL) rather than hang. It reconnects by itself.
 */
export function createRedis({ url, keyPrefix, logger }: RedisOptions): Redis {
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let reported = false;
  redis.on('error', (error: Error) => {
    if (!reported) logger.warn({ err: error.message }, 'redis unavailable, retrying');
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info('redis connection restored');
    reported = false;
  });
  redis.connect().catch(() => undefined);
  return redis;
}
