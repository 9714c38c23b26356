import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createRedis } from '../../../common/stores/redis';
import { testServers } from '../../../common/testing/env';
import { silentLogger } from '../../../common/testing/logger';
import { reconnectedWithin } from './redis-reconnects';

describe('whether Redis reconnected lately', () => {
  const { redisUrl } = testServers();
  const clients: Redis[] = [];
  const client = () => {
    const redis = createRedis({ url: redisUrl, logger: silentLogger() });
    clients.push(redis);
    return redis;
  };
  /** Until its first connection is up (a client starts connecting as it is made). */
  const connected = async (redis: Redis) => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  };
  /** Drops the connection from this side; the client reconnects by itself. */
  const reconnect = async (redis: Redis) => {
    const ready = once(redis, 'ready');
    redis.disconnect(true);
    await ready;
  };
  afterAll(() => clients.forEach((redis) => redis.disconnect()));

  it('does not count a first connection, made after it started watching', async () => {
    const redis = client();
    const reconnected = reconnectedWithin(redis, 60_000);
    await connected(redis);
    expect(reconnected()).toBe(false);
    await reconnect(redis);
    expect(reconnected()).toBe(true);
  });

  it('counts the first reconnection of a client connected before it started watching', async () => {
    const redis = client();
    await connected(redis);
    const reconnected = reconnectedWithin(redis, 60_000);
    expect(reconnected()).toBe(false);
    await reconnect(redis);
    expect(reconnected()).toBe(true);
  });

  it('forgets a reconnection once the window has passed', async () => {
    const redis = client();
    await connected(redis);
    const reconnected = reconnectedWithin(redis, 50);
    await reconnect(redis);
    expect(reconnected()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reconnected()).toBe(false);
  });
});
