import { GraphQLRequestError, type ResponseError, StreamDisconnectedError } from './errors';
import { resumableEvents } from './resumable-events';
import { type Clock, isRetryable, type RetryPolicy, retryDelayMs } from './retry';

const policy: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 3 };

/** A clock whose pauses take no time: it only records how long each was meant to be. */
function fakeClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return { slept, sleep: async (ms) => void slept.push(ms) };
}

const graphQLErrors = (...errors: ResponseError[]) => new GraphQLRequestError('GenerationEvents', errors);
const coded = (code: string, extensions: Record<string, unknown> = {}): ResponseError => ({
  message: code,
  extensions: { code, ...extensions },
});

interface Event {
  seq: number;
  type: string;
}

const token = (seq: number): Event => ({ seq, type: 'TOKEN' });

/**
 * A server whose every subscription plays the next script: its events, then its ending (an
 * error to throw, or nothing for a completion). It records the `after` of each subscription.
 */
function scriptedServer(...scripts: { events: Event[]; ending?: unknown }[]) {
  const afters: number[] = [];
  const subscribe = async function* (after: number): AsyncGenerator<Event> {
    afters.push(after);
    const script = scripts.shift();
    if (!script) throw new Error('more subscriptions than scripted');
    yield* script.events;
    if (script.ending) throw script.ending;
  };
  return { afters, subscribe };
}

async function collect(events: AsyncIterable<Event>): Promise<Event[]> {
  const seen: Event[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('isRetryable', () => {
  it.each([
    ['a socket that dropped (1006)', new StreamDisconnectedError(1006, 'abnormal')],
    ['a service restart (1012)', new StreamDisconnectedError(1012, 'restart')],
    ['try again later (1013)', new StreamDisconnectedError(1013, 'later')],
    ['going away (1001)', new StreamDisconnectedError(1001, 'away')],
    ['a drop with no close code', new StreamDisconnectedError(undefined, 'gone')],
    ['UPSTREAM_UNAVAILABLE', graphQLErrors(coded('UPSTREAM_UNAVAILABLE', { dependency: 'chat' }))],
    ['RATE_LIMITED', graphQLErrors(coded('RATE_LIMITED', { retryAfter: 3 }))],
  ])('retries %s', (_what, failure) => {
    expect(isRetryable(failure)).toBe(true);
  });

  it.each([
    ['a refused token (4403)', new StreamDisconnectedError(4403, 'Forbidden')],
    ['a slow consumer (4413)', new StreamDisconnectedError(4413, 'SlowConsumer')],
    ['bad input (after past the end)', graphQLErrors(coded('BAD_USER_INPUT', { field: 'after' }))],
    ['NOT_FOUND', graphQLErrors(coded('NOT_FOUND'))],
    ['INTERNAL', graphQLErrors(coded('INTERNAL'))],
    ['errors of which one is final', graphQLErrors(coded('UPSTREAM_UNAVAILABLE'), coded('INTERNAL'))],
    ['an error of the client itself', new TypeError('x is not a function')],
  ])('gives up on %s', (_what, failure) => {
    expect(isRetryable(failure)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the first pause up to the longest, each drawn from the upper half', () => {
    const lowest = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt, () => 0));
    const highest = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt, () => 1));
    expect(lowest).toEqual([50, 100, 200, 400, 500, 500]);
    expect(highest).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('waits at least as long as the server asked', () => {
    expect(retryDelayMs(policy, 1, () => 0.5, 3_000)).toBe(3_000);
  });
});

describe('resumableEvents', () => {
  const follow = (server: ReturnType<typeof scriptedServer>, clock: Clock, after = 0) =>
    collect(resumableEvents({ after, subscribe: server.subscribe, retry: policy, clock, random: () => 1 }));

  it('resumes after each retryable ending with `after` = the last seq delivered, each event once', async () => {
    const clock = fakeClock();
    const server = scriptedServer(
      { events: [token(1), token(2)], ending: new StreamDisconnectedError(1006, 'dropped') },
      // The gateway's socket to the chat replica dropped.
      { events: [token(2), token(3)], ending: graphQLErrors(coded('UPSTREAM_UNAVAILABLE')) },
      { events: [token(4), { seq: 5, type: 'DONE' }] },
    );

    const events = await follow(server, clock);

    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(server.afters).toEqual([0, 2, 3]);
    // Each series of failures starts again from the first pause once an event arrived.
    expect(clock.slept).toEqual([100, 100]);
  });

  it('passes over heartbeats (they repeat the last seq) and is not ended by an unknown event type', async () => {
    const server = scriptedServer({
      events: [
        { seq: 0, type: 'HEARTBEAT' },
        token(1),
        { seq: 1, type: 'HEARTBEAT' },
        { seq: 2, type: 'SOMETHING_NEW' },
        { seq: 3, type: 'STOPPED' },
      ],
    });

    const events = await follow(server, fakeClock());

    expect(events.map((event) => event.type)).toEqual(['TOKEN', 'SOMETHING_NEW', 'STOPPED']);
  });

  it('backs off further with each failure in a row, and gives up with the last after maxAttempts', async () => {
    const clock = fakeClock();
    const unavailable = graphQLErrors(coded('UPSTREAM_UNAVAILABLE', { dependency: 'chat' }));
    const server = scriptedServer(
      { events: [token(1)], ending: new StreamDisconnectedError(1012, 'restart') },
      { events: [], ending: unavailable },
      { events: [], ending: unavailable },
      { events: [], ending: unavailable },
    );

    await expect(follow(server, clock)).rejects.toBe(unavailable);

    expect(clock.slept).toEqual([100, 200, 400]);
    expect(server.afters).toEqual([0, 1, 1, 1]);
  });

  it('gives up at once, without a pause, on an ending no retry can cure', async () => {
    const clock = fakeClock();
    const refused = new StreamDisconnectedError(4403, 'Forbidden');
    const server = scriptedServer({ events: [token(1)], ending: refused });

    await expect(follow(server, clock)).rejects.toBe(refused);
    expect(clock.slept).toEqual([]);
  });

  it('waits as long as a rate limit asks before resubscribing', async () => {
    const clock = fakeClock();
    const server = scriptedServer(
      { events: [], ending: graphQLErrors(coded('RATE_LIMITED', { retryAfter: 7 })) },
      { events: [{ seq: 1, type: 'DONE' }] },
    );

    await follow(server, clock);

    expect(clock.slept).toEqual([7_000]);
  });

  it('resubscribes when a subscription completes before the final event', async () => {
    const server = scriptedServer({ events: [token(1), token(2)] }, { events: [{ seq: 3, type: 'DONE' }] });

    const events = await follow(server, fakeClock());

    expect(events.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(server.afters).toEqual([0, 2]);
  });

  it('ends when two subscriptions in a row complete with nothing new (the generation had ended)', async () => {
    // The first empty completion may be the client's own socket closing; the second cannot be.
    const server = scriptedServer({ events: [token(1)] }, { events: [] }, { events: [] });

    const events = await follow(server, fakeClock());

    expect(events.map((event) => event.seq)).toEqual([1]);
    expect(server.afters).toEqual([0, 1, 1]);
  });
});
