import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { GraphQLRequestError, StreamDisconnectedError } from '../../clients/chat-client/errors';
import { toStreamError } from '../../clients/chat-client/resumable-events';
import { productionTimes } from './paced-model';

/** Where subscribers connect: a gateway, or the chat subgraph itself. */
export interface StreamEndpoint {
  /** The HTTP GraphQL URL; subscriptions go to its ws:// twin. */
  url: string;
  /** The `connection_init` payload; a function is called for each connection. */
  connectionParams?: Record<string, unknown> | (() => Record<string, unknown>);
  /**
   * Sent with every subscribe message: the signed identity, when subscribing to a subgraph,
   * signed for that very operation.
   */
  extensions?: (operation: { query: string; variables: Record<string, unknown> }) => Record<string, unknown>;
}

/** One event as a subscriber saw it, with its arrival time (performance.now(), this process). */
export interface Arrival {
  seq: number;
  type: string;
  at: number;
  delta: string | null;
  /**
   * TOKEN: when the model sent each of its tokens, as the model wrote them in the delta
   * (bench/support/paced-model.ts); unset for a model that does not.
   */
  producedAt?: number[];
}

/** What one subscriber received of one generation, and how its subscription ended. */
export interface Followed {
  events: Arrival[];
  ended: 'complete' | 'error' | 'timeout';
  /** Why it ended in an error: the first error's code (or message), or how the socket closed. */
  error?: string;
}

/** What a subscription's failure says, briefly, read as the typed client reads it: a code or a close code. */
function describeFailure(failure: unknown): string {
  const error = toStreamError('subscription', failure);
  if (error instanceof GraphQLRequestError) return error.code ?? error.message;
  if (error instanceof StreamDisconnectedError && error.closeCode !== undefined)
    return `closed ${error.closeCode}`;
  return error.message;
}

export interface StreamRunOptions {
  target: StreamEndpoint;
  /** The chat subgraph, subscribed to directly: what the target's arrivals are compared with. */
  reference: StreamEndpoint;
  streams: number;
  /** Subscriptions per client WebSocket, for the target and the reference alike. */
  perSocket: number;
  /** Every how-manieth stream also gets a reference subscriber (1: all). */
  referenceEvery: number;
  /** A subscription document with `$id: ID!` whose root field is `generation`. */
  query: string;
  referenceQuery: string;
  /** Starts a generation (sendMessage) and resolves with its id. */
  startGeneration: () => Promise<string>;
  /** sendMessage calls in flight at once while the streams start. */
  startConcurrency: number;
  /** Runs once every subscriber has received its first event (START): lets the tokens flow. */
  beforeTokens: () => Promise<void>;
  /** A subscription still open this long after it began is given up (the run ends by itself). */
  timeoutMs: number;
}

export interface StreamRun {
  /** One per stream, in start order. */
  followed: Followed[];
  /** The streams that had a reference subscriber: [through the target, direct]. */
  pairs: [Followed, Followed][];
}

/** Client WebSockets to an endpoint, each connected (connection_init acknowledged) before use. */
export async function connect(endpoint: StreamEndpoint, count: number): Promise<Client[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Client>((resolve, reject) => {
          const client: Client = createClient({
            url: endpoint.url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            connectionParams: endpoint.connectionParams,
            lazy: false,
            retryAttempts: 0,
            on: { connected: () => resolve(client), error: reject },
          });
        }),
    ),
  );
}

export interface Following {
  /** Settles with the first event, or with the end of a subscription that had none. */
  started: Promise<void>;
  ended: Promise<Followed>;
}

/** An event as the subscription's root field answers it: what `follow` records, and more. */
export interface RootEvent {
  seq: number;
  type: string;
  delta: string | null;
  [field: string]: unknown;
}

/**
 * Subscribes `query` (one root field, a GenerationEvent) with `variables` and records every event
 * until the subscription ends; `onEvent` sees each whole as it arrives.
 */
export function follow(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  endpoint: StreamEndpoint,
  timeoutMs: number,
  onEvent?: (event: RootEvent, at: number) => void,
): Following {
  let started!: () => void;
  const following: Following = {
    started: new Promise<void>((resolve) => (started = resolve)),
    ended: new Promise((resolve) => {
      const followed: Followed = { events: [], ended: 'timeout' };
      const finish = (ended: Followed['ended']) => {
        clearTimeout(timeout);
        followed.ended = ended;
        unsubscribe();
        started();
        resolve(followed);
      };
      const timeout = setTimeout(() => finish('timeout'), timeoutMs);
      const unsubscribe = client.subscribe<Record<string, RootEvent>>(
        { query, variables, extensions: endpoint.extensions?.({ query, variables }) },
        {
          next: ({ data, errors }) => {
            const at = performance.now();
            if (errors || !data) {
              followed.error = describeFailure(errors ?? 'an answer with no data');
              return finish('error');
            }
            const event = Object.values(data)[0];
            onEvent?.(event, at);
            const { seq, type, delta } = event;
            // Sent while a generation waits (here, for every subscriber): not an event of the reply.
            if (type === 'HEARTBEAT') return;
            const times = type === 'TOKEN' && delta !== null ? productionTimes(delta) : [];
            followed.events.push({
              seq,
              type,
              at,
              delta,
              ...(times.length > 0 ? { producedAt: times } : {}),
            });
            started();
          },
          error: (failure: unknown) => {
            followed.error = describeFailure(failure);
            finish('error');
          },
          complete: () => finish('complete'),
        },
      );
    }),
  };
  return following;
}

/**
 * Starts `streams` generations, a few at a time, and follows each through the target the moment it
 * has started (and every `referenceEvery`-th one directly on the chat subgraph as well); once every
 * subscription is live, lets the tokens flow (`beforeTokens`); resolves once every one has ended.
 */
export async function runStreams(options: StreamRunOptions): Promise<StreamRun> {
  const socketsFor = (streams: number) => Math.max(1, Math.ceil(streams / options.perSocket));
  const referenced = Math.ceil(options.streams / options.referenceEvery);
  const [targetSockets, referenceSockets] = await Promise.all([
    connect(options.target, socketsFor(options.streams)),
    connect(options.reference, socketsFor(referenced)),
  ]);
  const targets: Following[] = [];
  const references: Following[] = [];
  const pairs: Promise<[Followed, Followed]>[] = [];
  let next = 0;
  const starter = async () => {
    for (let i = next++; i < options.streams; i = next++) {
      const id = await options.startGeneration();
      const through = follow(
        targetSockets[Math.floor(i / options.perSocket)],
        options.query,
        { id },
        options.target,
        options.timeoutMs,
      );
      targets.push(through);
      if (i % options.referenceEvery !== 0) continue;
      const direct = follow(
        referenceSockets[Math.floor(references.length / options.perSocket)],
        options.referenceQuery,
        { id },
        options.reference,
        options.timeoutMs,
      );
      references.push(direct);
      pairs.push(Promise.all([through.ended, direct.ended]));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.startConcurrency }, starter));
    await Promise.all([...targets, ...references].map((following) => following.started));
    await options.beforeTokens();
    return {
      followed: await Promise.all(targets.map((following) => following.ended)),
      pairs: await Promise.all(pairs),
    };
  } finally {
    await Promise.all([...targetSockets, ...referenceSockets].map((client) => client.dispose()));
  }
}

export interface StreamSummary {
  streams: number;
  expectedTokens: number;
  deliveredTokens: number;
  /** Events that did not come as the next seq after the previous one (a gap, a repeat). */
  outOfOrder: number;
  /** Streams that did not end with DONE and a clean completion. */
  failedStreams: number;
  /** Per token: arrival minus the time the model sent it, in ms, sorted. */
  latencyMs: number[];
  /** Per token of a paired stream: arrival through the target minus arrival direct, in ms, sorted. */
  addedMs: number[];
  /** Tokens delivered per second, from the first token's arrival to the last one's. */
  tokensPerSecond: number;
}

const isToken = (event: Arrival) => event.type === 'TOKEN';
const ascending = (values: number[]) => values.sort((a, b) => a - b);

/**
 * Every token of a run is sent after each subscriber has received its generation's START (see
 * runStreams), so both copies of a token come live, never replayed from the stream's history.
 */
function addedLatencies([through, direct]: [Followed, Followed]): number[] {
  const directAt = new Map(direct.events.filter(isToken).map((event) => [event.seq, event.at]));
  return through.events.filter(isToken).flatMap((event) => {
    const reference = directAt.get(event.seq);
    return reference === undefined ? [] : [event.at - reference];
  });
}

export function summarize(run: StreamRun, tokensPerReply: number): StreamSummary {
  let outOfOrder = 0;
  let failedStreams = 0;
  let firstToken = Infinity;
  let lastToken = -Infinity;
  const latencyMs: number[] = [];
  for (const { events, ended } of run.followed) {
    events.forEach((event, i) => {
      if (event.seq !== (events[i - 1]?.seq ?? 0) + 1) outOfOrder++;
      if (!isToken(event)) return;
      for (const produced of event.producedAt ?? []) latencyMs.push(event.at - produced);
      firstToken = Math.min(firstToken, event.at);
      lastToken = Math.max(lastToken, event.at);
    });
    if (ended !== 'complete' || events.at(-1)?.type !== 'DONE') failedStreams++;
  }
  // Counted by the model's tokens, not by events: a late event carries every token that waited for it.
  const deliveredTokens = run.followed.reduce(
    (sum, { events }) =>
      sum + events.filter(isToken).reduce((count, event) => count + (event.producedAt?.length ?? 1), 0),
    0,
  );
  return {
    streams: run.followed.length,
    expectedTokens: run.followed.length * tokensPerReply,
    deliveredTokens,
    outOfOrder,
    failedStreams,
    latencyMs: ascending(latencyMs),
    addedMs: ascending(run.pairs.flatMap(addedLatencies)),
    tokensPerSecond: deliveredTokens / ((lastToken - firstToken) / 1000),
  };
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
