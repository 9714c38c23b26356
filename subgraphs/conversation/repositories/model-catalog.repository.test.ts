import { type PublishedModel, PublishedModelCatalog } from '../../../common/stores/published-model-catalog';
import { createRedis } from '../../../common/stores/redis';
import { deleteRedisKeys } from '../../../common/testing/cleanup';
import { testServers } from '../../../common/testing/env';
import { captureLogs, silentLogger } from '../../../common/testing/logger';
import { testNamespace } from '../../../common/testing/namespace';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelCatalogRepository } from './model-catalog.repository';

const ECHO: PublishedModel = {
  id: 'offline/echo',
  name: 'echo',
  provider: 'offline',
  maxOutputTokens: 2_048,
  maxTemperature: null,
  available: true,
  isDefault: true,
};

describe('the model catalog as the conversation subgraph reads it', () => {
  const { redisUrl } = testServers();
  const namespace = testNamespace('model-catalog-repository');
  const key = `${namespace}:model-catalog`;
  const redis = createRedis({ url: redisUrl, logger: silentLogger() });
  const published = new PublishedModelCatalog(redis, key);

  beforeAll(
    () => new Promise((resolve) => (redis.status === 'ready' ? resolve(null) : redis.once('ready', resolve))),
  );
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(redisUrl, `${namespace}:`);
  });

  it('is null while none is published, said once at warn, and reads a publication within its cache time', async () => {
    // Only the clock the cache reads is moved, so a slow machine cannot outlast the cache between two reads;
    // Redis and its timers run as they do.
    jest.useFakeTimers({
      doNotFake: [
        'nextTick',
        'setImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });
    const later = (ms: number) => jest.setSystemTime(Date.now() + ms);
    try {
      const logs = captureLogs('conversation');
      const models = new ModelCatalogRepository(published, logs.logger, 100);
      expect(await models.models()).toBeNull();
      later(150);
      expect(await models.models()).toBeNull();
      expect(logs.lines().filter((line) => line.includes('no model catalog published by chat'))).toHaveLength(
        1,
      );

      await published.publish([ECHO], 60_000);
      // Within the cache time the earlier answer stands; after it, the publication is read.
      later(50);
      expect(await models.models()).toBeNull();
      later(100);
      expect(await models.models()).toEqual([ECHO]);
      expect(logs.lines().at(-1)).toContain('model catalog published by chat again');
    } finally {
      jest.useRealTimers();
    }
  });

  it('expires when no chat renews it', async () => {
    const short = new PublishedModelCatalog(redis, `${key}:short`);
    await short.publish([ECHO], 100);
    expect((await short.read())?.models).toEqual([ECHO]);
    await sleep(200);
    expect(await short.read()).toBeNull();
  });

  it('is null when Redis cannot answer (settings are then checked by ranges alone)', async () => {
    const logs = captureLogs('conversation');
    const unreachable = createRedis({ url: 'redis://127.0.0.1:1', logger: silentLogger() });
    try {
      const models = new ModelCatalogRepository(new PublishedModelCatalog(unreachable, key), logs.logger);
      expect(await models.models()).toBeNull();
      expect(logs.lines().filter((line) => line.includes('no model catalog published by chat'))).toHaveLength(
        1,
      );
    } finally {
      unreachable.disconnect();
    }
  });
});
