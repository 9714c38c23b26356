import type { Redis } from 'ioredis';
import { createRedis } from '../../../common/stores/redis';
import { deleteRedisKeys } from '../../../common/testing/cleanup';
import { testServers } from '../../../common/testing/env';
import { silentLogger } from '../../../common/testing/logger';
import { testNamespace } from '../../../common/testing/namespace';

export interface TestRedis {
  prefix: string;
  /** A new connection under the test file's prefix (each blocking reader needs its own). */
  connect: () => Promise<Redis>;
  /** Disconnects every connection made and deletes the prefix's keys. */
  cleanup: () => Promise<void>;
}

/** Connections to the real Redis under a key prefix of this test file's own. */
export function testRedis(label: string): TestRedis {
  const prefix = `${testNamespace(label)}:`;
  const { redisUrl } = testServers();
  const connections: Redis[] = [];
  return {
    prefix,
    connect: async () => {
      const redis = createRedis({ url: redisUrl, keyPrefix: prefix, logger: silentLogger() });
      connections.push(redis);
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      return redis;
    },
    cleanup: async () => {
      for (const redis of connections) redis.disconnect();
      await deleteRedisKeys(redisUrl, prefix);
    },
  };
}
