import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../common/logging/logger';
import { CACHE_EPOCH_KEY, cacheEntryBase, cacheGenerationKey } from '../store/cache-keys';

/**
 * Finds an entry under the current generation of its scope and of the whole cache, in one
 * round trip. KEYS: the cache-wide epoch, the scope's generation, the entry's base key.
 * Returns the generation suffix the entry lives under and the entry (or false).
 */
const LOOKUP_SCRIPT = `
local epoch = redis.call('GET', KEYS[1]) or '0'
local generation = redis.call('GET', KEYS[2]) or '0'
local suffix = epoch .. '|' .. generation
return { suffix, redis.call('GET', KEYS[3] .. '|' .. suffix) }
`;

type LookupReply = [suffix: string, entry: string | null];

interface CacheRedis extends Redis {
  cacheLookup(epochKey: string, generationKey: string, entryBase: string): Promise<LookupReply>;
}

/** Timestamps are the fields named `...At`; JSON turns them into strings, this turns them back. */
const reviveTimestamps = (key: string, value: unknown) =>
  key.endsWith('At') && typeof value === 'string' ? new Date(value) : value;

/**
 * A read-through cache in Redis whose invalidation cannot lose a race with a reader.
 *
 * Entries are filed under a scope (a user's list, a conversation) and named by the scope's
 * current generation token. A write replaces the token after it commits, so every later read
 * looks under a new name and goes to PostgreSQL; an entry a slow reader fills under the old
 * token is never read again and expires. Tokens are random (never reused) and outlive every
 * entry (twice the TTL), so a token that expires cannot bring an old entry back.
 *
 * Redis being away is never an error: reads fall back to the loader and writes go on. A write
 * whose invalidation could not reach Redis makes this process stop trusting the cache until it
 * has replaced the cache-wide epoch, which retires every entry at once.
 */
export class GenerationalCache {
  private trusted = true;
  private readonly redis: CacheRedis;

  constructor(
    redis: Redis,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {
    if (!('cacheLookup' in redis)) {
      redis.defineCommand('cacheLookup', { numberOfKeys: 3, lua: LOOKUP_SCRIPT });
    }
    this.redis = redis as CacheRedis;
  }

  /** The cached value of `name` in `scope`, or what `load` returns (then cached). */
  async getOrLoad<Value>(scope: string, name: string, load: () => Promise<Value>): Promise<Value> {
    const suffix = await this.lookup(scope, name);
    if (suffix === null) return load();
    if (typeof suffix !== 'string') return suffix.value as Value;
    const value = await load();
    try {
      await this.redis.set(
        `${cacheEntryBase(scope, name)}|${suffix}`,
        JSON.stringify(value),
        'EX',
        this.ttlSeconds,
      );
    } catch (error) {
      this.logger.debug({ err: error }, 'cache fill failed');
    }
    return value;
  }

  /** Retires every entry of these scopes. Call it after the write has committed. */
  async invalidate(...scopes: string[]): Promise<void> {
    const pipeline = this.redis.multi();
    for (const scope of scopes) {
      pipeline.set(cacheGenerationKey(scope), randomUUID(), 'EX', this.ttlSeconds * 2);
    }
    try {
      await pipeline.exec();
    } catch (error) {
      if (this.trusted) this.logger.warn({ err: error }, 'cache invalidation failed; bypassing the cache');
      this.trusted = false;
    }
  }

  /**
   * A hit, the suffix to fill a miss under, or null when the cache is not to be used now
   * (Redis unavailable, or an invalidation was lost and the epoch not yet replaced).
   */
  private async lookup(scope: string, name: string): Promise<{ value: unknown } | string | null> {
    try {
      if (!this.trusted) {
        await this.redis.set(CACHE_EPOCH_KEY, randomUUID());
        this.trusted = true;
        this.logger.info('cache epoch replaced; using the cache again');
      }
      const [suffix, entry] = await this.redis.cacheLookup(
        CACHE_EPOCH_KEY,
        cacheGenerationKey(scope),
        cacheEntryBase(scope, name),
      );
      return entry === null ? suffix : { value: JSON.parse(entry, reviveTimestamps) as unknown };
    } catch (error) {
      this.logger.debug({ err: error }, 'cache unavailable, reading from PostgreSQL');
      return null;
    }
  }
}
