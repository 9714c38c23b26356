import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { redisKeys } from '../store/redis-keys';
import { testRedis } from '../testing/redis';
import { EventLogConflict, GenerationEventRepository } from '../repositories/generation-event.repository';
import { type GenerationEvent, GenerationEventType } from '../streams/generation-event';
import {
  EventStoreUnavailable,
  GenerationStreamWriter,
  joinTokens,
  type StreamWriterOptions,
} from '../streams/stream-writer';
import { TokenEventPacing } from '../streams/token-pacing';

/** Resolves once `condition` holds, checked every few milliseconds. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 2));
}

const redisForTest = testRedis('stream_writer');
const logOptions = { maxLength: 1_000, liveTtlSeconds: 600, finishedTtlSeconds: 60 };
const token = (delta: string) => ({ type: GenerationEventType.TOKEN, delta }) as const;
const start = { type: GenerationEventType.START, model: 'm' } as const;
const usage = {
  type: GenerationEventType.USAGE,
  promptTokens: 1,
  completionTokens: 2,
  estimated: true,
} as const;

describe('the writer of a generation stream', () => {
  let redis: Redis;
  let log: GenerationEventRepository;

  beforeAll(async () => {
    redis = await redisForTest.connect();
    log = new GenerationEventRepository(redis, logOptions);
  });
  afterAll(() => redisForTest.cleanup());

  const started = async (options: StreamWriterOptions = { retryWindowMs: 1_000 }) => {
    const id = randomUUID();
    const writer = new GenerationStreamWriter(log, id, options);
    await writer.append([start]);
    await writer.append([token('Once ')]);
    await writer.append([token('upon ')]);
    return { id, writer };
  };
  const stored = async (id: string) =>
    (await log.read(id, 0)).map((event) => ({ seq: event.seq, type: event.type }));

  it('counts a token once Redis acknowledged it, and reports that text', async () => {
    const { id, writer } = await started();
    expect(writer.seq).toBe(3);
    expect(writer.text()).toBe('Once upon ');
    expect(await log.replyText(id)).toBe('Once upon ');
  });

  it('tells each batch once Redis holds it, in order, and nothing it refused', async () => {
    const told: GenerationEvent[][] = [];
    const { id, writer } = await started({
      retryWindowMs: 1_000,
      onAcknowledged: (events) => told.push([...events]),
    });
    writer.enqueue(token('a '));
    writer.enqueue(token('time'));
    await writer.flush();
    await log.append(id, 5, [{ ...token('intruder'), seq: 6 }]);
    await expect(writer.append([token('mine')])).rejects.toBeInstanceOf(EventLogConflict);
    expect(told.flat().map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(told.flat()).toEqual((await log.read(id, 0)).slice(0, 5));
  });

  it('sends the tokens enqueued while an append is in flight together, as one event, in the next append', async () => {
    const { id, writer } = await started();
    const appends = jest.spyOn(log, 'append');
    const words = ['a ', 'time ', 'there ', 'was ', 'a ', 'stream'];
    words.forEach((word) => writer.enqueue(token(word)));
    await writer.flush();
    // The first goes at once; the rest, enqueued while it was in flight, in one more.
    expect(appends).toHaveBeenCalledTimes(2);
    appends.mockRestore();
    expect(writer.text()).toBe(`Once upon ${words.join('')}`);
    expect(await log.read(id, 3)).toEqual([
      { seq: 4, ...token('a ') },
      { seq: 5, ...token('time there was a stream') },
    ]);
  });

  it('joins only adjacent tokens: other events keep their place between them', () => {
    expect(joinTokens([token('a '), token('b '), usage, token('c'), token('d')])).toEqual([
      token('a b '),
      usage,
      token('cd'),
    ]);
  });

  describe('with a token interval', () => {
    const INTERVAL_MS = 150;
    /** A writer past START and two tokens, and the batches it tells of from then on. */
    const withInterval = async (told: GenerationEvent[][] = []) => {
      const writer = await started({
        retryWindowMs: 1_000,
        tokenEventIntervalMs: () => INTERVAL_MS,
        onAcknowledged: (events) => told.push([...events]),
      });
      told.length = 0;
      return writer;
    };

    it('sends the first token at once and the ones that follow within the interval as one event after it', async () => {
      const told: GenerationEvent[][] = [];
      const { id, writer } = await withInterval(told);
      const firstEnqueuedAt = Date.now();
      writer.enqueue(token('a '));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(told).toEqual([[{ seq: 4, ...token('a ') }]]);
      writer.enqueue(token('time '));
      writer.enqueue(token('there '));
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Still within the interval: held, and not part of the reply yet.
      expect(told).toHaveLength(1);
      expect(writer.text()).toBe('Once upon a ');
      await until(() => told.length === 2);
      expect(Date.now() - firstEnqueuedAt).toBeGreaterThanOrEqual(INTERVAL_MS - 5);
      expect(told[1]).toEqual([{ seq: 5, ...token('time there ') }]);
      expect(await log.replyText(id)).toBe('Once upon a time there ');
    });

    it('does not hold a token that comes after the interval has passed', async () => {
      const told: GenerationEvent[][] = [];
      const { writer } = await withInterval(told);
      writer.enqueue(token('a '));
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS + 20));
      const enqueuedAt = Date.now();
      writer.enqueue(token('time'));
      await until(() => told.length === 2);
      expect(Date.now() - enqueuedAt).toBeLessThan(INTERVAL_MS);
    });

    it('sends what it holds at once on flush, so a reply that ends does not wait for the interval', async () => {
      const { id, writer } = await withInterval();
      writer.enqueue(token('a '));
      writer.enqueue(token('time'));
      const flushedAt = Date.now();
      await writer.flush();
      expect(Date.now() - flushedAt).toBeLessThan(INTERVAL_MS);
      expect(await log.replyText(id)).toBe('Once upon a time');
      // The hurry was for what was pending then: tokens that follow within the interval wait again.
      writer.enqueue(token(' there'));
      writer.enqueue(token(' was'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(writer.text()).toBe('Once upon a time');
      await writer.flush();
      expect(writer.text()).toBe('Once upon a time there was');
    });

    it('asks the interval before each event, so tokens wait longer while the process streams more replies', async () => {
      const pacing = new TokenEventPacing({
        minIntervalMs: 0,
        eventsPerSecond: 100,
        maxIntervalMs: INTERVAL_MS,
      });
      const told: GenerationEvent[][] = [];
      const { id, writer } = await started({
        retryWindowMs: 1_000,
        tokenEventIntervalMs: () => pacing.intervalMs(),
        onAcknowledged: (events) => told.push([...events]),
      });
      told.length = 0;
      // Alone, within the budget: every token its own event as soon as the one before is stored.
      writer.enqueue(token('a '));
      await until(() => told.length === 1);
      writer.enqueue(token('time '));
      await until(() => told.length === 2);
      // Nine more replies streaming: ten at 100 events a second, each reply's tokens wait 100 ms.
      const others = Array.from({ length: 9 }, () => pacing.begin());
      writer.enqueue(token('there '));
      writer.enqueue(token('was '));
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(told).toHaveLength(2);
      await until(() => told.length === 3);
      expect(told[2]).toEqual([{ seq: 6, ...token('there was ') }]);
      others.forEach((end) => end());
      expect(await log.replyText(id)).toBe('Once upon a time there was ');
    });

    it('never holds an event that carries no token', async () => {
      const { id, writer } = await withInterval();
      writer.enqueue(token('a '));
      await writer.flush();
      const enqueuedAt = Date.now();
      writer.enqueue(usage);
      await until(async () => (await log.read(id, 4)).length === 1);
      expect(Date.now() - enqueuedAt).toBeLessThan(INTERVAL_MS);
    });
  });

  it('refuses to enqueue after an enqueued append failed, and reports the failure on flush', async () => {
    const { id, writer } = await started();
    // Someone else writes to the stream: the writer's next append meets a conflict it must not repair.
    await log.append(id, 3, [{ ...token('intruder'), seq: 4 }]);
    writer.enqueue(token('mine'));
    await expect(writer.flush()).rejects.toBeInstanceOf(EventLogConflict);
    expect(() => writer.enqueue(token('more'))).toThrow(EventLogConflict);
    expect(writer.text()).toBe('Once upon ');
  });

  it('writes again, with the same seqs, the events Redis lost with its data', async () => {
    const { id, writer } = await started();
    await redis.del(redisKeys.events(id));
    await writer.append([token('a time')]);
    expect(await stored(id)).toEqual([
      { seq: 1, type: 'START' },
      { seq: 2, type: 'TOKEN' },
      { seq: 3, type: 'TOKEN' },
      { seq: 4, type: 'TOKEN' },
    ]);
    expect(await log.replyText(id)).toBe('Once upon a time');
    expect(writer.text()).toBe('Once upon a time');
  });

  it('writes again only the tail an append-only file had not kept', async () => {
    const { id, writer } = await started();
    const kept = await log.read(id, 0, 1);
    await redis.del(redisKeys.events(id));
    await log.append(id, 0, kept);
    await writer.repair();
    expect(await log.replyText(id)).toBe('Once upon ');
    expect((await stored(id)).map((event) => event.seq)).toEqual([1, 2, 3]);
  });

  it('is in doubt about nothing while Redis answers every append', async () => {
    const { writer } = await started();
    expect(writer.inDoubt).toBe(false);
    await writer.append([token('a time')]);
    expect(writer.inDoubt).toBe(false);
  });

  it('refuses to go on over events it did not write', async () => {
    const { id, writer } = await started();
    const intruder: GenerationEvent = { seq: 4, type: GenerationEventType.TOKEN, delta: 'not mine' };
    await log.append(id, 3, [intruder]);
    await expect(writer.append([token('a time')])).rejects.toBeInstanceOf(EventLogConflict);
  });

  describe('when Redis does not answer', () => {
    let offline: Redis;
    let writer: GenerationStreamWriter;
    let id: string;
    let told: number[];

    beforeEach(async () => {
      offline = await redisForTest.connect();
      id = randomUUID();
      told = [];
      writer = new GenerationStreamWriter(new GenerationEventRepository(offline, logOptions), id, {
        retryWindowMs: 200,
        onAcknowledged: (events) => told.push(...events.map((event) => event.seq)),
      });
      await writer.append([start]);
      offline.disconnect();
      await expect(writer.append([token('lost?')])).rejects.toBeInstanceOf(EventStoreUnavailable);
      await offline.connect();
    });

    it('adopts an append Redis had taken though it never said so', async () => {
      await log.append(id, 1, [{ seq: 2, type: GenerationEventType.TOKEN, delta: 'lost?' }]);
      expect(writer.inDoubt).toBe(true);
      await writer.repair();
      expect(writer.inDoubt).toBe(false);
      expect(writer.text()).toBe('lost?');
      await writer.append([token(' No.')]);
      expect(await log.replyText(id)).toBe('lost? No.');
      // The adopted append is told once it is known to be held, before what follows it.
      expect(told).toEqual([1, 2, 3]);
    });

    it('leaves it out when Redis never took it', async () => {
      expect(writer.inDoubt).toBe(true);
      await writer.repair();
      expect(writer.inDoubt).toBe(false);
      expect(writer.text()).toBe('');
      expect(told).toEqual([1]);
      await writer.append([token('Found.')]);
      expect(await stored(id)).toEqual([
        { seq: 1, type: 'START' },
        { seq: 2, type: 'TOKEN' },
      ]);
    });
  });
});
