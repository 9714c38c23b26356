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
});
