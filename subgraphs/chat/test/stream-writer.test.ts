import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { redisKeys } from '../store/redis-keys';
import { testRedis } from '../testing/redis';
import { EventLogConflict, GenerationEventRepository } from '../repositories/generation-event.repository';
import { type GenerationEvent, GenerationEventType } from '../streams/generation-event';
import {
  EventStoreUnavailable,
  GenerationStreamWriter,
  type StreamWriterOptions,
} from '../streams/stream-writer';

const redisForTest = testRedis('stream_writer');
const logOptions = { maxLength: 1_000, liveTtlSeconds: 600, finishedTtlSeconds: 60 };
const token = (delta: string) => ({ type: GenerationEventType.TOKEN, delta }) as const;
const start = { type: GenerationEventType.START, model: 'm' } as const;

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

  it('sends the tokens enqueued while an append is in flight together, in order, in the next append', async () => {
    const { id, writer } = await started();
    const appends = jest.spyOn(log, 'append');
    const words = ['a ', 'time ', 'there ', 'was ', 'a ', 'stream'];
    words.forEach((word) => writer.enqueue(token(word)));
    await writer.flush();
    // The first goes at once; the rest, enqueued while it was in flight, in one more.
    expect(appends).toHaveBeenCalledTimes(2);
    appends.mockRestore();
    expect(writer.text()).toBe(`Once upon ${words.join('')}`);
    expect((await stored(id)).map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
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
      await writer.repair();
      expect(writer.text()).toBe('lost?');
      await writer.append([token(' No.')]);
      expect(await log.replyText(id)).toBe('lost? No.');
      // The adopted append is told once it is known to be held, before what follows it.
      expect(told).toEqual([1, 2, 3]);
    });

    it('leaves it out when Redis never took it', async () => {
      await writer.repair();
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
