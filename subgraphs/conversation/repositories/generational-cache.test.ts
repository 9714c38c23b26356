import { createRedis } from '../../../common/stores/redis';
import { deleteRedisKeys } from '../../../common/testing/cleanup';
import { testServers } from '../../../common/testing/env';
import { silentLogger } from '../../../common/testing/logger';
import { testNamespace } from '../../../common/testing/namespace';
import { GenerationalCache } from './generational-cache';

describe('GenerationalCache', () => {
  const { redisUrl } = testServers();
  const prefix = `${testNamespace('generational-cache')}:`;
  const redis = createRedis({ url: redisUrl, keyPrefix: prefix, logger: silentLogger() });
  const cache = new GenerationalCache(redis, 60, silentLogger());
  let loads = 0;
  const loader = (value: unknown) => async () => {
    loads++;
    return value;
  };

  beforeAll(
    () => new Promise((resolve) => (redis.status === 'ready' ? resolve(null) : redis.once('ready', resolve))),
  );
  beforeEach(() => (loads = 0));
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(redisUrl, prefix);
  });

  it('loads once, then answers from Redis with timestamps revived', async () => {
    const value = { title: 'x', createdAt: new Date('2026-01-02T03:04:05.678Z') };
    expect(await cache.getOrLoad('s1', 'a', loader(value))).toEqual(value);
    expect(await cache.getOrLoad('s1', 'a', loader('other'))).toEqual(value);
    expect(loads).toBe(1);
  });

  it('loads again after the scope is invalidated, and only that scope', async () => {
    await cache.getOrLoad('s2', 'a', loader(1));
    await cache.getOrLoad('s3', 'a', loader(1));
    await cache.invalidate('s2');
    expect(await cache.getOrLoad('s2', 'a', loader(2))).toBe(2);
    expect(await cache.getOrLoad('s3', 'a', loader(3))).toBe(1);
    expect(loads).toBe(3);
  });

  it('never serves what a reader loaded before a write that committed during its read', async () => {
    // The reader misses, the writer commits and invalidates, then the reader fills the old value.
    await cache.getOrLoad('s4', 'a', async () => {
      await cache.invalidate('s4');
      return 'stale';
    });
    expect(await cache.getOrLoad('s4', 'a', loader('fresh'))).toBe('fresh');
  });

  it('falls back to the loader while Redis is away, and distrusts the cache after a lost invalidation', async () => {
    await cache.getOrLoad('s5', 'a', loader('before'));
    redis.disconnect();
    expect(await cache.getOrLoad('s5', 'a', loader('while away'))).toBe('while away');
    // A write while Redis is away cannot retire the old entry...
    await cache.invalidate('s5');
    await new Promise((resolve) => (redis.status === 'end' ? resolve(null) : redis.once('end', resolve)));
    await redis.connect();
    // ...so the cache is not trusted again until the whole of it has been retired.
    expect(await cache.getOrLoad('s5', 'a', loader('after'))).toBe('after');
    expect(await cache.getOrLoad('s5', 'a', loader('cached'))).toBe('after');
    expect(loads).toBe(3);
  });
});
