import { StreamDisconnectedError } from './errors';
import { resumableEvents } from './resumable-events';

interface Event {
  seq: number;
  type: string;
}

async function* events(...list: Event[]): AsyncGenerator<Event> {
  yield* list;
}

describe('resumableEvents', () => {
  it('delivers no HEARTBEAT: it repeats the last seq and is not part of the reply', async () => {
    const delivered: Event[] = [];
    const stream = resumableEvents<Event>({
      after: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 0 },
      subscribe: () =>
        events(
          { seq: 0, type: 'HEARTBEAT' },
          { seq: 1, type: 'START' },
          { seq: 1, type: 'HEARTBEAT' },
          { seq: 2, type: 'TOKEN' },
          { seq: 2, type: 'HEARTBEAT' },
          { seq: 3, type: 'DONE' },
        ),
    });
    for await (const event of stream) delivered.push(event);
    expect(delivered).toEqual([
      { seq: 1, type: 'START' },
      { seq: 2, type: 'TOKEN' },
      { seq: 3, type: 'DONE' },
    ]);
  });

  it('throws a failure at once, without a retry, while `resumable` says no', async () => {
    const refused = new Error('not started');
    let subscriptions = 0;
    const stream = resumableEvents<Event>({
      after: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 5 },
      resumable: () => false,
      subscribe: async function* () {
        subscriptions++;
        yield* [];
        throw refused;
      },
    });
    await expect(stream.next()).rejects.toBe(refused);
    expect(subscriptions).toBe(1);
  });

  it('resumes from the last seq once `resumable` says yes', async () => {
    const opened: number[] = [];
    let started = false;
    const stream = resumableEvents<Event>({
      after: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 5 },
      resumable: () => started,
      subscribe: async function* (after) {
        opened.push(after);
        if (after > 0) return yield* events({ seq: 2, type: 'TOKEN' }, { seq: 3, type: 'DONE' });
        started = true;
        yield { seq: 1, type: 'START' };
        throw new StreamDisconnectedError(1006, 'dropped');
      },
    });
    const delivered: Event[] = [];
    for await (const event of stream) delivered.push(event);
    expect(opened).toEqual([0, 1]);
    expect(delivered.map((event) => event.seq)).toEqual([1, 2, 3]);
  });

  it('tells `onResume` of each failure it resumes from, and not of the one that ends it', async () => {
    const restart = new StreamDisconnectedError(1012, 'service restart');
    const refused = new StreamDisconnectedError(4403, 'forbidden');
    const resumedFrom: unknown[] = [];
    const stream = resumableEvents<Event>({
      after: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 5 },
      onResume: (failure) => resumedFrom.push(failure),
      subscribe: async function* (after) {
        if (after === 0) {
          yield { seq: 1, type: 'START' };
          throw restart;
        }
        yield { seq: 2, type: 'TOKEN' };
        throw refused;
      },
    });
    const delivered: number[] = [];
    await expect(
      (async () => {
        for await (const event of stream) delivered.push(event.seq);
      })(),
    ).rejects.toBe(refused);
    expect(delivered).toEqual([1, 2]);
    expect(resumedFrom).toEqual([restart]);
  });
});
