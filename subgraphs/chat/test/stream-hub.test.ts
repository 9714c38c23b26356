import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { silentLogger } from '../../../common/testing/logger';
import { GenerationRepository } from '../repositories/generation.repository';
import { streamingGeneration } from '../testing/records';
import { testRedis } from '../testing/redis';
import { EventLogConflict, GenerationEventRepository } from '../repositories/generation-event.repository';
import { type GenerationEvent, GenerationEventType, isTerminal } from '../streams/generation-event';
import { FollowInterrupted } from '../streams/liveness';
import { GenerationStreamHub } from '../streams/stream-hub';
import { StreamReaderRepository } from '../repositories/stream-reader.repository';

const redisForTest = testRedis('stream_hub');

const token = (seq: number, delta = `t${seq} `): GenerationEvent => ({
  seq,
  type: GenerationEventType.TOKEN,
  delta,
});
const start = (): GenerationEvent => ({ seq: 1, type: GenerationEventType.START, model: 'm' });
const done = (seq: number): GenerationEvent => ({ seq, type: GenerationEventType.DONE });

/** Collects one watcher's events; `ended` resolves at the terminal event. */
function collector() {
  const events: GenerationEvent[] = [];
  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let resolveNext: (() => void) | null = null;
  return {
    events,
    ended,
    /** Resolves once `count` events have arrived. */
    received: (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (events.length >= count ? resolve() : (resolveNext = check));
        check();
      }),
    onEvent: (event: GenerationEvent) => {
      events.push(event);
      if (isTerminal(event)) resolveEnded();
      const next = resolveNext;
      resolveNext = null;
      next?.();
    },
    onError: (error: unknown) => {
      throw error;
    },
  };
}

describe('generation event streams', () => {
  let redis: Redis;
  let log: GenerationEventRepository;
  let hub: GenerationStreamHub;
  let generations: GenerationRepository;

  /** A hub's reader: a connection of its own, woken through the shared one. */
  const reader = async () =>
    new StreamReaderRepository(await redisForTest.connect(), redis, `test-stream-reader:${randomUUID()}`);

  beforeAll(async () => {
    redis = await redisForTest.connect();
    log = new GenerationEventRepository(redis, {
      maxLength: 1_000,
      liveTtlSeconds: 600,
      finishedTtlSeconds: 60,
    });
    generations = new GenerationRepository(redis, 3_600);
    hub = new GenerationStreamHub(await reader(), log, {
      keyPrefix: redisForTest.prefix,
      logger: silentLogger(),
      // Out of the way here; the liveness tests below run a hub with short ones.
      heartbeatIntervalMs: 60_000,
      stallTimeoutMs: 120_000,
      leaseStates: (ids) => generations.leaseStates(ids),
    });
  });
  afterAll(async () => {
    await hub.stop();
    await redisForTest.cleanup();
  });

  const appendAll = async (id: string, events: GenerationEvent[], previousSeq = events[0].seq - 1) => {
    for (const [i, event] of events.entries()) await log.append(id, previousSeq + i, [event]);
  };

  describe('the log', () => {
    it('numbers entries by seq, reads ranges back and reports the reply text', async () => {
      await appendAll('log-1', [start(), token(2, 'Hello '), token(3, 'world'), done(4)]);
      expect((await log.read('log-1', 1, 3)).map((e) => e.seq)).toEqual([2, 3]);
      expect(await log.last('log-1')).toEqual(done(4));
      expect(await log.replyText('log-1')).toBe('Hello world');
      expect(await redis.ttl('generation:log-1:events')).toBeLessThanOrEqual(60);
    });

    it('refuses an append that does not follow the last event, or comes after a terminal one', async () => {
      await appendAll('log-2', [start(), token(2)]);
      await expect(log.append('log-2', 1, [token(2, 'again')])).rejects.toBeInstanceOf(EventLogConflict);
      await log.append('log-2', 2, [done(3)]);
      await expect(log.append('log-2', 3, [token(4)])).rejects.toBeInstanceOf(EventLogConflict);
    });

    it('accepts a retried append whose first attempt did go through', async () => {
      await appendAll('log-3', [start(), token(2)]);
      await expect(log.append('log-3', 1, [token(2)])).resolves.toBeUndefined();
      expect(await log.read('log-3', 0)).toHaveLength(2);
    });
  });

  describe('the hub', () => {
    it('replays from the start, then follows live events to the end, each once and in order', async () => {
      await appendAll('live-1', [start(), token(2)]);
      const watcher = collector();
      const watch = hub.watch('live-1', 0, watcher);
      await watcher.received(2);
      await appendAll('live-1', [token(3), token(4), done(5)]);
      await watcher.ended;
      expect(watcher.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      watch.close();
    });

    it('resumes after a given seq without repeating or losing one', async () => {
      await appendAll('resume-1', [start(), token(2), token(3), token(4)]);
      const watcher = collector();
      hub.watch('resume-1', 3, watcher);
      await watcher.received(1);
      await appendAll('resume-1', [done(5)]);
      await watcher.ended;
      expect(watcher.events.map((e) => e.seq)).toEqual([4, 5]);
    });

    it('catches up a watcher that joins a stream the hub already follows further along', async () => {
      await appendAll('join-1', [start()]);
      const early = collector();
      hub.watch('join-1', 0, early);
      await early.received(1);
      await appendAll('join-1', [token(2), token(3)]);
      await early.received(3);
      const late = collector();
      hub.watch('join-1', 0, late);
      await appendAll('join-1', [token(4), done(5)]);
      await Promise.all([early.ended, late.ended]);
      expect(late.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(early.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    });

    it('serves many streams and watchers over its one connection, delivering every token', async () => {
      const streams = Array.from({ length: 40 }, (_, i) => `many-${i}`);
      const watchers = streams.flatMap((id) => [0, 1, 2].map(() => ({ id, watcher: collector() })));
      for (const { id, watcher } of watchers) hub.watch(id, 0, watcher);
      await Promise.all(
        streams.map((id) =>
          appendAll(id, [start(), ...Array.from({ length: 30 }, (_, i) => token(i + 2)), done(32)]),
        ),
      );
      await Promise.all(watchers.map(({ watcher }) => watcher.ended));
      for (const { watcher } of watchers) {
        expect(watcher.events.map((e) => e.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
      }
    });

    it('stops delivering to a closed watch and forgets a stream nobody watches', async () => {
      const followed = hub.followedStreams;
      const watcher = collector();
      const watch = hub.watch('closed-1', 0, watcher);
      expect(hub.followedStreams).toBe(followed + 1);
      await appendAll('closed-1', [start()]);
      await watcher.received(1);
      watch.close();
      expect(hub.followedStreams).toBe(followed);
      await appendAll('closed-1', [token(2), done(3)]);
      const other = collector();
      hub.watch('closed-1', 0, other);
      await other.ended;
      expect(watcher.events.map((e) => e.seq)).toEqual([1]);
    });
  });

  describe('a stream this process writes (own)', () => {
    /** Appends to Redis, then hands the hub what Redis acknowledged, as the writer does. */
    const write = async (
      owned: ReturnType<GenerationStreamHub['own']>,
      id: string,
      events: GenerationEvent[],
    ) => {
      await appendAll(id, events);
      owned.deliver(events);
    };

    it('reaches its watchers from the writer, and is not read from Redis until released', async () => {
      const owned = hub.own('own-1');
      const watcher = collector();
      const watch = hub.watch('own-1', 0, watcher);
      await write(owned, 'own-1', [start(), token(2)]);
      expect(watcher.events.map((e) => e.seq)).toEqual([1, 2]);

      // In Redis but never delivered (as another replica's write after a takeover would be): the hub
      // does not read an owned stream, so it waits for the release.
      await appendAll('own-1', [token(3)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(watcher.events.map((e) => e.seq)).toEqual([1, 2]);

      owned.release();
      await watcher.received(3);
      await appendAll('own-1', [done(4)]);
      await watcher.ended;
      expect(watcher.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      watch.close();
    });

    it('gives a watcher that joins late what was delivered before it, from the writer (no read of Redis), then the rest, once each', async () => {
      const owned = hub.own('own-2');
      await write(owned, 'own-2', [start(), token(2), token(3)]);
      const reads = jest.spyOn(log, 'read');
      try {
        const watcher = collector();
        const watch = hub.watch('own-2', 1, watcher);
        await watcher.received(2);
        await write(owned, 'own-2', [token(4), done(5)]);
        await watcher.ended;
        expect(watcher.events).toEqual([token(2), token(3), token(4), done(5)]);
        expect(reads).not.toHaveBeenCalled();
        owned.release();
        watch.close();
      } finally {
        reads.mockRestore();
      }
    });

    it('reads what a late watcher missed from Redis once the writer let the stream go, or never delivered part of it', async () => {
      const released = hub.own('own-4');
      await write(released, 'own-4', [start(), token(2), done(3)]);
      released.release();
      const afterRelease = collector();
      const first = hub.watch('own-4', 0, afterRelease);
      await afterRelease.ended;
      expect(afterRelease.events).toEqual(await log.read('own-4', 0));
      first.close();

      // Seq 2 is in Redis but was never handed over (an append whose acknowledgement was lost).
      const partial = hub.own('own-5');
      await write(partial, 'own-5', [start()]);
      await appendAll('own-5', [token(2)], 1);
      await write(partial, 'own-5', [token(3)]);
      const late = collector();
      const second = hub.watch('own-5', 0, late);
      await late.received(3);
      expect(late.events).toEqual([start(), token(2), token(3)]);
      partial.release();
      second.close();
    });

    it('delivers exactly what an XREAD would decode, even from events carrying more', async () => {
      const owned = hub.own('own-3');
      const watcher = collector();
      const watch = hub.watch('own-3', 0, watcher);
      const usage = {
        seq: 2,
        type: GenerationEventType.USAGE,
        promptTokens: 3,
        completionTokens: 4,
        estimated: false,
        kind: 'usage',
      } as GenerationEvent;
      await write(owned, 'own-3', [start(), usage, done(3)]);
      await watcher.ended;
      expect(watcher.events).toEqual(await log.read('own-3', 0));
      owned.release();
      watch.close();
    });
  });

  describe('liveness', () => {
    const hubs: GenerationStreamHub[] = [];
    afterAll(() => Promise.all(hubs.map((liveHub) => liveHub.stop())));

    const startHub = async (stallTimeoutMs: number) => {
      const liveHub = new GenerationStreamHub(await reader(), log, {
        keyPrefix: redisForTest.prefix,
        logger: silentLogger(),
        heartbeatIntervalMs: 100,
        stallTimeoutMs,
        leaseStates: (ids) => generations.leaseStates(ids),
      });
      hubs.push(liveHub);
      return liveHub;
    };
    /** A generation whose process holds its lease for `leaseMs` from now (renewing nothing). */
    const generationWithLease = async (leaseMs: number) => {
      const record = streamingGeneration();
      await generations.create(record, leaseMs);
      const { id } = record;
      await log.append(id, 0, [start()]);
      return id;
    };
    /** A watcher that records heartbeats and resolves `failed` with the error that ended it. */
    const liveWatcher = () => {
      const watcher = collector();
      const heartbeats: number[] = [];
      let fail: (error: unknown) => void = () => undefined;
      const failed = new Promise<unknown>((resolve) => (fail = resolve));
      let beat: () => void = () => undefined;
      const beats = (count: number) =>
        new Promise<void>((resolve) => {
          beat = () => heartbeats.length >= count && resolve();
          beat();
        });
      return {
        ...watcher,
        heartbeats,
        failed,
        beats,
        onHeartbeat: (lastSeq: number) => {
          heartbeats.push(lastSeq);
          beat();
        },
        onError: (error: unknown) => fail(error),
      };
    };

    it('sends heartbeats with the last seq to the watchers of a quiet stream while the lease is live', async () => {
      const liveHub = await startHub(60_000);
      const id = await generationWithLease(60_000);
      const watcher = liveWatcher();
      liveHub.watch(id, 0, watcher);
      await watcher.received(1);
      await watcher.beats(2);
      await appendAll(id, [token(2), done(3)]);
      await watcher.ended;
      expect(watcher.events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(new Set(watcher.heartbeats)).toEqual(new Set([1]));
    });

    it('ends a watcher whose generation shows no sign of life, and sends it no heartbeat', async () => {
      const liveHub = await startHub(500);
      const id = await generationWithLease(1);
      const watcher = liveWatcher();
      liveHub.watch(id, 1, watcher);
      expect(await watcher.failed).toEqual(new FollowInterrupted('chat'));
      expect(watcher.heartbeats).toEqual([]);
    });

    it('ends the watchers at once when the process leaves the generation to recovery', async () => {
      const liveHub = await startHub(60_000);
      const id = await generationWithLease(60_000);
      const watcher = liveWatcher();
      liveHub.watch(id, 0, watcher);
      await watcher.beats(1);
      await generations.release(id);
      expect(await watcher.failed).toEqual(new FollowInterrupted('conversation'));
    });
  });
});
