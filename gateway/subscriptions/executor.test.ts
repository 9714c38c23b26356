import type { Duplex } from 'node:stream';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type ExecutionResult, GraphQLError, parse } from 'graphql';
import {
  IDENTITY_HEADER,
  type Identity,
  operationDigest,
  signIdentity,
} from '../../common/identity/identity';
import { createRedis } from '../../common/stores/redis';
import { deleteRedisKeys } from '../../common/testing/cleanup';
import { TEST_IDENTITY_SECRET, testServers } from '../../common/testing/env';
import { silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';
import { eventually } from '../../common/testing/wait';
import { startTestSubgraph } from '../../common/testing/test-subgraph';
import type { BaseContext, RunningSubgraph } from '../../common/server/subgraph-server';
import type { GatewayContext } from '../context';
import { SignedDataSource } from '../signed-data-source';
import { SubscriptionExecutor } from './executor';
import { SupergraphPlanner } from './planner';
import { UpstreamPool } from './upstream-pool';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';
const eventsSdl = `${link}
  type Query { ping: String }
  type Subscription { ticks(count: Int!, failAt: Int, holdOpen: Boolean = false): Tick! }
  type Tick { n: Int!, label: String, author: Author!, caller: String, broken: String }
  type Author @key(fields: "id") { id: ID! }`;
const peopleSdl = `${link}
  type Query { author(id: ID!): Author }
  type Author @key(fields: "id") { id: ID!, name: String!, bio: String }`;

/** Subscriptions the events subgraph is serving right now, to see upstream cleanup. */
let openTicks = 0;
let upgrades = 0;

interface TicksArgs {
  count: number;
  failAt?: number | null;
  holdOpen: boolean;
}

/** A hand-written iterator, so that `return()` ends it even while it waits (holdOpen). */
function ticks(
  { count, failAt, holdOpen }: TicksArgs,
  caller: string | null,
): AsyncIterableIterator<unknown> {
  openTicks += 1;
  let n = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  const close = () => {
    if (!closed) openTicks -= 1;
    closed = true;
    wake?.();
    return Promise.resolve({ done: true as const, value: undefined });
  };
  const iterator: AsyncIterableIterator<unknown> = {
    next: async () => {
      n += 1;
      if (n === failAt) {
        await close();
        throw new Error('tick source failed');
      }
      if (n <= count)
        return {
          done: false,
          value: { ticks: { n, label: n % 2 ? 'odd' : null, author: { id: `a${n % 2}` }, caller } },
        };
      if (holdOpen && !closed) await new Promise<void>((resolve) => (wake = resolve));
      return close();
    },
    return: close,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

const authors: Record<string, { id: string; name: string; bio: string | null }> = {
  a0: { id: 'a0', name: 'Ada', bio: 'even' },
  a1: { id: 'a1', name: 'Brian', bio: null },
};

const identity: Identity = {
  userId: 'u-1',
  role: 'USER',
  sessionId: 's-1',
  requestId: 'r-1',
  issuer: 'gateway',
};
const context: GatewayContext = { requestId: 'r-1', identity, logger: silentLogger() };

describe('SubscriptionExecutor', () => {
  let events: RunningSubgraph;
  let people: RunningSubgraph;
  let upstream: UpstreamPool;
  let executor: SubscriptionExecutor;

  // Both subgraphs remember identity nonces in the real Redis, under this file's own prefix.
  const prefix = `${testNamespace('subscription-executor')}:`;
  const redis = createRedis({ url: testServers().redisUrl, keyPrefix: prefix, logger: silentLogger() });

  beforeAll(async () => {
    events = await startTestSubgraph({
      name: 'events',
      redis,
      subscriptions: true,
      schema: buildSubgraphSchema({
        typeDefs: parse(eventsSdl),
        resolvers: {
          Tick: {
            broken: () => {
              throw new Error('broken field');
            },
          },
          Subscription: {
            ticks: {
              subscribe: (_: unknown, args: TicksArgs, ctx: unknown) =>
                ticks(args, (ctx as BaseContext).caller.userId),
            },
          },
        },
      }),
    });
    events.httpServer.on('upgrade', () => (upgrades += 1));
    people = await startTestSubgraph({
      name: 'people',
      redis,
      schema: buildSubgraphSchema({
        typeDefs: parse(peopleSdl),
        resolvers: { Author: { __resolveReference: (ref: { id: string }) => authors[ref.id] ?? null } },
      }),
    });
    const composed = composeServices([
      { name: 'events', url: events.url, typeDefs: parse(eventsSdl) },
      { name: 'people', url: people.url, typeDefs: parse(peopleSdl) },
    ]);
    if (composed.errors) throw composed.errors[0];
    const planner = new SupergraphPlanner(composed.supergraphSdl);
    upstream = new UpstreamPool({
      urls: { events: events.url, people: people.url },
      socketsPerSubgraph: 2,
      keepAliveMs: 10_000,
      maxQueuedEvents: 100,
      identitySecret: TEST_IDENTITY_SECRET,
      logger: silentLogger(),
    });
    executor = new SubscriptionExecutor({
      planner: () => planner,
      upstream,
      dataSources: {
        events: new SignedDataSource(events.url, TEST_IDENTITY_SECRET, { name: 'events' }),
        people: new SignedDataSource(people.url, TEST_IDENTITY_SECRET, { name: 'people' }),
      },
      identitySecret: TEST_IDENTITY_SECRET,
    });
  });

  afterAll(async () => {
    await upstream?.dispose();
    await events?.stop();
    await people?.stop();
    redis.disconnect();
    await deleteRedisKeys(testServers().redisUrl, prefix);
  });

  const subscribe = (query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
    executor.subscribe({ document: parse(query), source: query, variables, operationName, context });

  async function collect(query: string, variables: Record<string, unknown> = {}): Promise<ExecutionResult[]> {
    const result = subscribe(query, variables);
    if (!(Symbol.asyncIterator in result)) return [result];
    const results: ExecutionResult[] = [];
    for await (const event of result) results.push(event);
    return results;
  }

  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setImmediate(resolve));
  };

  it('streams every event in order, joined with entity fields from another subgraph', async () => {
    const results = await collect('subscription { ticks(count: 3) { n author { id name } } }');
    expect(results).toEqual([
      { data: { ticks: { n: 1, author: { id: 'a1', name: 'Brian' } } } },
      { data: { ticks: { n: 2, author: { id: 'a0', name: 'Ada' } } } },
      { data: { ticks: { n: 3, author: { id: 'a1', name: 'Brian' } } } },
    ]);
  });

  it('shapes results like ordinary execution: aliases, fragments, variables, __typename, @include and @skip', async () => {
    const query = `
      subscription Ticks($count: Int!, $withBio: Boolean!, $skipLabel: Boolean!) {
        tick: ticks(count: $count) {
          __typename
          number: n
          label @skip(if: $skipLabel)
          ...Writer
        }
      }
      fragment Writer on Tick { writer: author { ... on Author { displayName: name bio @include(if: $withBio) } } }`;
    const results = await collect(query, { count: 2, withBio: true, skipLabel: false });
    expect(results).toEqual([
      {
        data: {
          tick: { __typename: 'Tick', number: 1, label: 'odd', writer: { displayName: 'Brian', bio: null } },
        },
      },
      {
        data: {
          tick: { __typename: 'Tick', number: 2, label: null, writer: { displayName: 'Ada', bio: 'even' } },
        },
      },
    ]);
    const skipped = await collect(query, { count: 1, withBio: false, skipLabel: true });
    expect(skipped).toEqual([
      { data: { tick: { __typename: 'Tick', number: 1, writer: { displayName: 'Brian' } } } },
    ]);
  });

  it('sends the signed identity of the caller with the upstream subscription', async () => {
    const results = await collect('subscription { ticks(count: 1) { caller } }');
    expect(results).toEqual([{ data: { ticks: { caller: 'u-1' } } }]);
  });

  it('delivers a field error in an event with its path, as ordinary execution does', async () => {
    const [result] = await collect('subscription { ticks(count: 1) { n broken } }');
    expect(result.data).toEqual({ ticks: { n: 1, broken: null } });
    expect(result.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['ticks', 'broken'], 'INTERNAL'],
    ]);
  });

  it('delivers an upstream error as a GraphQL error and then completes', async () => {
    const results = await collect('subscription { ticks(count: 5, failAt: 3) { n } }');
    expect(results.slice(0, 2)).toEqual([{ data: { ticks: { n: 1 } } }, { data: { ticks: { n: 2 } } }]);
    expect(results).toHaveLength(3);
    expect(results[2].errors?.[0].message).toMatch(/tick source failed/);
  });

  it('answers validation errors as GraphQL errors without opening anything upstream', () => {
    const result = subscribe('subscription { ticks(count: 1) { nope } }');
    expect(Symbol.asyncIterator in result).toBe(false);
    expect((result as ExecutionResult).errors?.[0].message).toMatch(/Cannot query field "nope"/);
  });

  it('answers bad variables as GraphQL errors', () => {
    const result = subscribe('subscription ($c: Int!) { ticks(count: $c) { n } }', { c: 'many' });
    expect((result as ExecutionResult).errors?.[0].message).toMatch(/\$c/);
  });

  it('closes the upstream subscription as soon as the client unsubscribes', async () => {
    const result = subscribe(
      'subscription { ticks(count: 1, holdOpen: true) { n } }',
    ) as AsyncIterableIterator<ExecutionResult>;
    expect((await result.next()).value).toEqual({ data: { ticks: { n: 1 } } });
    await until(() => openTicks === 1);
    const pending = result.next();
    await result.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    await until(() => openTicks === 0);
    expect(upstream.openSubscriptions('events')).toBe(0);
  });

  it('ends a subscription with the given error when its session ends', async () => {
    let endSession!: (error: GraphQLError) => void;
    const query = 'subscription { ticks(count: 1, holdOpen: true) { n } }';
    const result = executor.subscribe({
      document: parse(query),
      source: query,
      context,
      endWith: new Promise((resolve) => (endSession = resolve)),
    }) as AsyncIterableIterator<ExecutionResult>;
    expect((await result.next()).value).toEqual({ data: { ticks: { n: 1 } } });
    endSession(new GraphQLError('Session revoked', { extensions: { code: 'UNAUTHENTICATED' } }));
    const ended = await result.next();
    expect(ended.value?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await result.next()).toEqual({ done: true, value: undefined });
    await until(() => openTicks === 0);
  });

  it('multiplexes many subscriptions over a few upstream sockets', async () => {
    const before = upgrades;
    const query = 'subscription { ticks(count: 1, holdOpen: true) { n } }';
    const iterators = Array.from(
      { length: 40 },
      () => subscribe(query) as AsyncIterableIterator<ExecutionResult>,
    );
    await Promise.all(iterators.map((iterator) => iterator.next()));
    expect(upstream.openSubscriptions('events')).toBe(40);
    expect(upgrades - before).toBeLessThanOrEqual(2);
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
    await until(() => openTicks === 0);
  });

  it('ends the upstream subscription and reports a slow consumer once its event queue overflows', async () => {
    let overflowed = false;
    const query = 'subscription { ticks(count: 1000, holdOpen: true) { n } }';
    const result = executor.subscribe({
      document: parse(query),
      source: query,
      context,
      onOverflow: () => (overflowed = true),
    }) as AsyncIterableIterator<ExecutionResult>;
    await until(() => overflowed);
    await until(() => openTicks === 0);
    expect(upstream.openSubscriptions('events')).toBe(0);
    expect(await result.next()).toEqual({ done: true, value: undefined });
  });

  describe('its upstream sockets', () => {
    // Long enough that subscriptions one after another always find the socket open, even on a busy machine.
    const IDLE_CLOSE_MS = 1_000;
    let pool: UpstreamPool;
    beforeEach(() => {
      pool = new UpstreamPool({
        urls: { events: events.url },
        socketsPerSubgraph: 2,
        keepAliveMs: 10_000,
        maxQueuedEvents: 100,
        identitySecret: TEST_IDENTITY_SECRET,
        logger: silentLogger(),
        idleCloseMs: IDLE_CLOSE_MS,
      });
    });
    afterEach(() => pool.dispose());

    /** A subscription as the executor sends it: the caller's identity signed for the events subgraph. */
    const signed = (query: string) => {
      const operation = { query, operationName: undefined, variables: {} };
      const digest = operationDigest(operation);
      const signature = signIdentity(identity, TEST_IDENTITY_SECRET, { audience: 'events', digest });
      return { ...operation, extensions: { [IDENTITY_HEADER]: signature } };
    };
    const twoTicks = 'subscription { ticks(count: 2) { n } }';
    const heldTick = 'subscription { ticks(count: 1, holdOpen: true) { n } }';
    const drained = async (iterator: AsyncIterableIterator<unknown>) => {
      for await (const event of iterator) expect(event).toMatchObject({ data: { ticks: {} } });
    };

    it('opens one socket for subscriptions one after another, and keeps it while they come', async () => {
      const before = upgrades;
      for (let i = 0; i < 3; i += 1) await drained(pool.subscribe('events', signed(twoTicks)));
      expect(upgrades - before).toBe(1);
      expect(pool.openSockets('events')).toBe(1);
    });

    it('opens a second socket only while the first carries a subscription', async () => {
      const first = pool.subscribe('events', signed(heldTick));
      await first.next();
      const second = pool.subscribe('events', signed(heldTick));
      await second.next();
      expect(pool.openSockets('events')).toBe(2);
      const third = pool.subscribe('events', signed(heldTick));
      await third.next();
      expect(pool.openSockets('events')).toBe(2);
      await Promise.all([first, second, third].map((iterator) => iterator.return?.()));
    });

    it('closes a socket that carried nothing for the idle time, and opens another for the next subscription', async () => {
      await drained(pool.subscribe('events', signed(twoTicks)));
      expect(pool.openSockets('events')).toBe(1);
      await eventually(() => expect(pool.openSockets('events')).toBe(0), { timeoutMs: IDLE_CLOSE_MS * 10 });

      const before = upgrades;
      await drained(pool.subscribe('events', signed(twoTicks)));
      expect(upgrades - before).toBe(1);
    });

    it('connects again for the next subscription once its connection dropped', async () => {
      const serverSockets: Duplex[] = [];
      const track = (_request: unknown, socket: Duplex) => serverSockets.push(socket);
      events.httpServer.on('upgrade', track);
      try {
        const first = pool.subscribe('events', signed(heldTick));
        await first.next();
        for (const socket of serverSockets) socket.destroy();
        await expect(first.next()).rejects.toBeDefined();

        await drained(pool.subscribe('events', signed(twoTicks)));
        expect(serverSockets).toHaveLength(2);
      } finally {
        events.httpServer.off('upgrade', track);
      }
    });
  });
});
