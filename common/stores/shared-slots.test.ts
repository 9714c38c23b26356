import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { deleteRedisKeys } from '../testing/cleanup';
import { testServers } from '../testing/env';
import { captureLogs, silentLogger } from '../testing/logger';
import { testNamespace } from '../testing/namespace';
import { findFreePort } from '../util/free-port';
import { eventually } from '../testing/wait';
import { createRedis } from './redis';
import { SharedSlots } from './shared-slots';

describe('slots shared by replicas through Redis', () => {
  const { redisUrl } = testServers();
  const prefix = `${testNamespace('shared_slots')}:`;
  const clients: Redis[] = [];
  const slotSets: SharedSlots[] = [];

  /** One replica's view: its own Redis connection and its own renewal timer. */
  const replica = async (ttlMs = 10_000) => {
    const slots = unconnectedReplica(ttlMs, redisUrl, silentLogger());
    await eventually(() => expect(clients[clients.length - 1].status).toBe('ready'));
    return slots;
  };
  const unconnectedReplica = (ttlMs: number, url: string, logger: Logger) => {
    const redis = createRedis({ url, keyPrefix: prefix, logger });
    clients.push(redis);
    const slots = new SharedSlots(redis, { name: 'subscriptions', ttlMs, logger });
    slotSets.push(slots);
    return slots;
  };

  afterAll(async () => {
    slotSets.forEach((slots) => slots.close());
    // QUIT closes a connected client at once; disconnect would leave ioredis's 2 s close timer behind.
    await Promise.all(clients.map((redis) => redis.quit().catch(() => redis.disconnect())));
    await deleteRedisKeys(redisUrl, prefix);
  });

  it('counts one owner across replicas, and a release on one frees a slot for the other', async () => {
    const [a, b] = [await replica(), await replica()];
    const releaseFirst = await a.acquire('ada', 2);
    expect(releaseFirst).not.toBeNull();
    expect(await b.acquire('ada', 2)).not.toBeNull();
    expect(await a.acquire('ada', 2)).toBeNull();
    expect(await b.acquire('grace', 2)).not.toBeNull();

    releaseFirst?.();
    releaseFirst?.();
    await eventually(async () => expect(await b.acquire('ada', 2)).not.toBeNull());
    expect(await a.acquire('ada', 2)).toBeNull();
  });

  it('keeps a live holder’s slots past their time to live, and lets a dead holder’s expire', async () => {
    // Long enough that a busy test worker's stalls do not make the living holder miss every renewal.
    const ttlMs = 2000;
    const [living, dying, other] = [await replica(ttlMs), await replica(ttlMs), await replica(ttlMs)];
    const acquiredAt = Date.now();
    expect(await living.acquire('lin', 2)).not.toBeNull();
    expect(await dying.acquire('lin', 2)).not.toBeNull();
    // The dying replica stops renewing, as a killed process would.
    dying.close();
    await eventually(async () => expect(await other.acquire('lin', 2)).not.toBeNull(), {
      timeoutMs: 4 * ttlMs,
    });
    // The dying holder's slot expired no sooner than a time to live after both were taken, so the
    // living holder's slot is past its first time to live, and still counts.
    expect(Date.now() - acquiredAt).toBeGreaterThanOrEqual(ttlMs);
    expect(await other.acquire('lin', 2)).toBeNull();
  });

  it('counts in this process alone while Redis is unreachable, and says so once', async () => {
    const { logger, lines } = captureLogs();
    const slots = unconnectedReplica(10_000, `redis://127.0.0.1:${await findFreePort()}`, logger);
    const release = await slots.acquire('ada', 1);
    expect(release).not.toBeNull();
    expect(await slots.acquire('ada', 1)).toBeNull();
    release?.();
    expect(await slots.acquire('ada', 1)).not.toBeNull();
    const warnings = lines().filter((line) => line.includes('counting this limit in this process only'));
    expect(warnings).toHaveLength(1);
  });
});
