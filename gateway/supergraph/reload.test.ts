import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type Client, createClient } from 'graphql-ws';
import { parse } from 'graphql';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { RunningSubgraph } from '../../common/server/subgraph-server';
import { createRedis } from '../../common/stores/redis';
import { deleteRedisKeys } from '../../common/testing/cleanup';
import { testServers } from '../../common/testing/env';
import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { captureLogs, silentLogger } from '../../common/testing/logger';
import { testNamespace } from '../../common/testing/namespace';
import { startTestSubgraph } from '../../common/testing/test-subgraph';
import { eventually } from '../../common/testing/wait';
import type { RunningGateway } from '../app';
import { startGatewayInFront } from '../testing/stub-subgraph';

/** Open subscriptions while the supergraph is replaced: the 100. */
const SUBSCRIPTIONS = 100;
const TICK_MS = 250;
/** Supergraphs written over the file, one after another, while the load runs. */
const SWAPS = 5;

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])';
/** What the subgraph serves: deployed before the supergraph that exposes all of it, as a rollout goes. */
const SERVED = `${link}
  type Query { version: Int!, added: String! }
  type Subscription { ticks(everyMs: Int!): Int!, other: Int! }`;
/** The supergraph at boot, composed before `added` existed. */
const V1 = `${link}
  type Query { version: Int! }
  type Subscription { ticks(everyMs: Int!): Int!, other: Int! }`;
/** The next one: `added` is new. */
const V2 = `${link}
  type Query { version: Int!, added: String! }
  type Subscription { ticks(everyMs: Int!): Int!, other: Int! }`;
/** One where `ticks` is gone. */
const V3 = `${link}
  type Query { version: Int!, added: String! }
  type Subscription { other: Int! }`;
/** One where `other` is for signed-in callers only. */
const V4 = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated"])
  type Query { version: Int!, added: String! }
  type Subscription { other: Int! @authenticated }`;

/** Ticks every `everyMs` as `field` until the subscription is closed. */
function ticks(field: string, everyMs: number): AsyncIterableIterator<Record<string, number>> {
  let n = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const close = async () => {
    closed = true;
    clearTimeout(timer);
    wake?.();
    return { done: true as const, value: undefined };
  };
  const iterator: AsyncIterableIterator<Record<string, number>> = {
    next: async () => {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, everyMs);
      });
      if (closed) return close();
      n += 1;
      return { done: false, value: { [field]: n } };
    },
    return: close,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

describe('live supergraph reload', () => {
  const namespace = testNamespace('supergraph-reload');
  const redis = createRedis({
    url: testServers().redisUrl,
    keyPrefix: `${namespace}:nonces:`,
    logger: silentLogger(),
  });
  const logs = captureLogs('gateway', 'info');
  const closers: (() => Promise<unknown>)[] = [];
  let subgraph: RunningSubgraph;
  let folder: string;

  const supergraphOf = (sdl: string) => {
    const composed = composeServices([{ name: 'chat', url: subgraph.url, typeDefs: parse(sdl) }]);
    if (composed.errors) throw composed.errors[0];
    return composed.supergraphSdl;
  };

  beforeAll(async () => {
    // The gateway signs its identity for the audience `chat`: the subgraph stands in for chat.
    subgraph = await startTestSubgraph({
      name: 'chat',
      redis,
      subscriptions: true,
      schema: buildSubgraphSchema({
        typeDefs: parse(SERVED),
        resolvers: {
          Query: { version: () => 1, added: () => 'here' },
          Subscription: {
            ticks: { subscribe: (_: unknown, args: { everyMs: number }) => ticks('ticks', args.everyMs) },
            other: { subscribe: () => ticks('other', TICK_MS) },
          },
        },
      }),
    });
    folder = await mkdtemp(join(tmpdir(), 'supergraph-reload-'));
    closers.push(() => subgraph.stop());
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await rm(folder, { recursive: true, force: true });
    redis.disconnect();
    await deleteRedisKeys(testServers().redisUrl, `${namespace}:`);
  });

  const startGateway = async (env: Record<string, string>) => {
    const gateway: RunningGateway = await startGatewayInFront(
      'http://127.0.0.1:9/graphql',
      namespace,
      logs.logger,
      {
        CHAT_URL: subgraph.url,
        RATE_LIMIT_ENABLED: 'false',
        SUBSCRIPTIONS_PER_CONNECTION: String(SUBSCRIPTIONS),
        ...env,
      },
    );
    closers.push(() => gateway.stop());
    return gateway;
  };
  /** Writes the file the way a rollout should: a new file renamed over the old, never half-written. */
  const replace = async (path: string, sdl: string) => {
    const next = `${path}.next`;
    await writeFile(next, sdl);
    await rename(next, path);
  };
  const metric = async (gateway: RunningGateway, line: RegExp) => {
    const text = await (await fetch(new URL('/metrics', gateway.url))).text();
    return text.match(line)?.[1];
  };
  const reloads = (gateway: RunningGateway, outcome: 'applied' | 'refused') =>
    metric(gateway, new RegExp(`gateway_supergraph_reloads_total\\{outcome="${outcome}"\\} (\\d+)`));
  const supergraphHealth = async (gateway: RunningGateway) => {
    const report = (await (await fetch(new URL('/health/all', gateway.url))).json()) as {
      details: {
        gateway?: { supergraph?: { hash: string; refused: number; lastRefusal?: { reason: string } } };
      };
    };
    return report.details.gateway?.supergraph;
  };
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  /** Subscriptions over graphql-ws that record every event and how each ended. */
  function openSubscriptions(gateway: RunningGateway, count: number, query: string) {
    const client: Client = createClient({
      url: gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const subscriptions = Array.from({ length: count }, () => {
      const state = {
        events: [] as number[],
        lastEventAt: 0,
        ended: undefined as undefined | { errors?: unknown[] },
      };
      client.subscribe<Record<string, number>>(
        { query },
        {
          next: (result) => {
            if (result.errors) state.ended = { errors: [...result.errors] };
            else {
              state.events.push(Object.values(result.data ?? {})[0] ?? -1);
              state.lastEventAt = performance.now();
            }
          },
          error: (errors) => (state.ended = { errors: Array.isArray(errors) ? errors : [errors] }),
          complete: () => (state.ended ??= {}),
        },
      );
      return state;
    });
    closers.push(async () => client.dispose());
    return subscriptions;
  }

  /** Queries in a few parallel loops until stopped: how many were sent and which failed. */
  function queryLoad(gateway: RunningGateway, loops = 4) {
    let running = true;
    let sent = 0;
    const failures: unknown[] = [];
    const loop = async () => {
      while (running) {
        sent += 1;
        try {
          const response = await postGraphQL(gateway.url, '{ version }');
          if (response.status !== 200 || response.errors || response.data?.version !== 1)
            failures.push(response);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const done = Promise.all(Array.from({ length: loops }, loop));
    return {
      stop: async () => {
        running = false;
        await done;
        return { sent, failures };
      },
    };
  }

  it(`swaps ${SWAPS} supergraph files in, one after another, under load: no request fails, none of ${SUBSCRIPTIONS} open subscriptions drops, and the new field is served`, async () => {
    const path = join(folder, 'swap.graphql');
    await writeFile(path, supergraphOf(V1));
    // fs.watch alone: the poll is too slow to be what notices the change.
    const gateway = await startGateway({ SUPERGRAPH_PATH: path, SUPERGRAPH_POLL_INTERVAL_MS: '600000' });
    const subscriptions = openSubscriptions(
      gateway,
      SUBSCRIPTIONS,
      `subscription { ticks(everyMs: ${TICK_MS}) }`,
    );
    await eventually(() => expect(subscriptions.every((s) => s.events.length > 0)).toBe(true), {
      timeoutMs: 20_000,
    });
    expect(errorCodes(await postGraphQL(gateway.url, '{ added }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);

    const load = queryLoad(gateway);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await replace(path, supergraphOf(V2));
    await eventually(async () =>
      expect((await postGraphQL(gateway.url, '{ added }')).data).toEqual({ added: 'here' }),
    );
    // A rollout is rarely one swap: four more, each a new document (the same schema, a new comment).
    let last = supergraphOf(V2);
    for (let n = 2; n <= SWAPS; n += 1) {
      last = `${supergraphOf(V2)}\n# rollout ${n}\n`;
      await replace(path, last);
      await eventually(async () => expect(await reloads(gateway, 'applied')).toBe(String(n)));
    }
    const swappedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { sent, failures } = await load.stop();

    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(10);
    expect(await reloads(gateway, 'applied')).toBe(String(SWAPS));
    expect(await reloads(gateway, 'refused')).toBe('0');
    expect(await metric(gateway, /^gateway_supergraph_info\{hash="([0-9a-f]+)"/m)).toBe(
      sha256(last).slice(0, 16),
    );
    // Every subscription goes on: events after the swap, in order, none ended.
    await eventually(() => expect(subscriptions.every((s) => s.lastEventAt > swappedAt)).toBe(true), {
      timeoutMs: 20_000,
    });
    for (const subscription of subscriptions) {
      expect(subscription.ended).toBeUndefined();
      expect(subscription.events).toEqual(subscription.events.map((_, i) => i + 1));
    }
  });

  it('refuses a supergraph that does not load, keeps serving the one before, and says so in metrics, health and the log', async () => {
    const path = join(folder, 'broken.graphql');
    const v2 = supergraphOf(V2);
    await writeFile(path, v2);
    const gateway = await startGateway({ SUPERGRAPH_PATH: path, SUPERGRAPH_POLL_INTERVAL_MS: '100' });

    // It parses but is no supergraph; then one that does not parse at all.
    for (const [n, broken] of [
      '\ntype Query { version: Int! }\n',
      v2.replace('type Query', 'type Query {'),
    ].entries()) {
      await replace(path, broken);
      await eventually(async () => expect(await reloads(gateway, 'refused')).toBe(String(n + 1)));
      expect((await postGraphQL(gateway.url, '{ version added }')).data).toEqual({
        version: 1,
        added: 'here',
      });
    }
    expect(await reloads(gateway, 'applied')).toBe('0');
    expect(
      Number(await metric(gateway, /^gateway_supergraph_last_refusal_timestamp_seconds (\S+)$/m)),
    ).toBeGreaterThan(0);
    await eventually(async () =>
      expect(await supergraphHealth(gateway)).toMatchObject({
        hash: sha256(v2),
        refused: 2,
        lastRefusal: { reason: expect.stringMatching(/Syntax Error/) },
      }),
    );
    expect(
      logs
        .lines()
        .filter((line) => line.includes('supergraph refused; the current supergraph keeps serving')),
    ).toHaveLength(2);

    // The same broken file seen again is not counted again; a good one after it is applied.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await reloads(gateway, 'refused')).toBe('2');
    await replace(path, supergraphOf(V1));
    await eventually(async () => expect(await reloads(gateway, 'applied')).toBe('1'));
    expect(errorCodes(await postGraphQL(gateway.url, '{ added }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('does not start on a supergraph that does not load', async () => {
    const path = join(folder, 'boot.graphql');
    await writeFile(path, supergraphOf(V1).replace('type Query', 'type Query {'));
    await expect(startGateway({ SUPERGRAPH_PATH: path })).rejects.toThrow(/does not load: Syntax Error/);
  });

  it('ends an open subscription whose field the new supergraph removes, or now refuses its caller, with SUPERGRAPH_CHANGED, and keeps the others', async () => {
    const path = join(folder, 'removed.graphql');
    await writeFile(path, supergraphOf(V2));
    const gateway = await startGateway({ SUPERGRAPH_PATH: path, SUPERGRAPH_POLL_INTERVAL_MS: '100' });
    const [gone] = openSubscriptions(gateway, 1, `subscription { ticks(everyMs: ${TICK_MS}) }`);
    const [kept] = openSubscriptions(gateway, 1, 'subscription { other }');
    await eventually(() => expect(gone.events.length + kept.events.length).toBeGreaterThan(1));

    await replace(path, supergraphOf(V3));
    await eventually(() => expect(gone.ended).toBeDefined());
    expect(gone.ended?.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUPERGRAPH_CHANGED' }) }),
    ]);
    const keptSoFar = kept.events.length;
    await eventually(() => expect(kept.events.length).toBeGreaterThan(keptSoFar));
    expect(kept.ended).toBeUndefined();
    // Subscribing again meets the new schema.
    const [again] = openSubscriptions(gateway, 1, `subscription { ticks(everyMs: ${TICK_MS}) }`);
    await eventually(() => expect(again.ended).toBeDefined());
    expect(again.ended?.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);

    // The new access rules apply to what is open: an anonymous caller's `other`, now @authenticated, ends.
    await replace(path, supergraphOf(V4));
    await eventually(() => expect(kept.ended).toBeDefined());
    expect(kept.ended?.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('may not select other'),
        extensions: expect.objectContaining({ code: 'SUPERGRAPH_CHANGED' }),
      }),
    ]);
  });

  it('finds a change fs.watch does not report by polling: a Kubernetes ConfigMap volume swapping its ..data link', async () => {
    // A mounted ConfigMap: the file is a link through `..data`, which is re-pointed at a new folder.
    const volume = join(folder, 'configmap');
    const version = async (name: string, sdl: string) => {
      await mkdir(join(volume, name), { recursive: true });
      await writeFile(join(volume, name, 'supergraph.graphql'), sdl);
    };
    await version('v1', supergraphOf(V1));
    await symlink('v1', join(volume, '..data'));
    await symlink(join('..data', 'supergraph.graphql'), join(volume, 'supergraph.graphql'));
    const gateway = await startGateway({
      SUPERGRAPH_PATH: join(volume, 'supergraph.graphql'),
      SUPERGRAPH_POLL_INTERVAL_MS: '200',
    });

    await version('v2', supergraphOf(V2));
    await symlink('v2', join(volume, '..data_tmp'));
    await rename(join(volume, '..data_tmp'), join(volume, '..data'));
    await eventually(async () =>
      expect((await postGraphQL(gateway.url, '{ added }')).data).toEqual({ added: 'here' }),
    );
    expect(await reloads(gateway, 'applied')).toBe('1');
  });

  it('polls a supergraph URL with If-None-Match, and applies what changes there', async () => {
    let served = supergraphOf(V1);
    const counts = { ok: 0, notModified: 0 };
    const server: Server = createServer((req, res) => {
      const etag = `"${sha256(served)}"`;
      if (req.headers['if-none-match'] === etag) {
        counts.notModified += 1;
        res.writeHead(304).end();
        return;
      }
      counts.ok += 1;
      res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph.graphql`;
    const gateway = await startGateway({ SUPERGRAPH_URL: url, SUPERGRAPH_POLL_INTERVAL_MS: '100' });

    await eventually(() => expect(counts.notModified).toBeGreaterThanOrEqual(3));
    expect(counts.ok).toBe(1);
    expect(await reloads(gateway, 'applied')).toBe('0');

    served = supergraphOf(V2);
    await eventually(async () =>
      expect((await postGraphQL(gateway.url, '{ added }')).data).toEqual({ added: 'here' }),
    );
    expect(counts.ok).toBe(2);
    expect(await reloads(gateway, 'applied')).toBe('1');
    expect(await metric(gateway, /^gateway_supergraph_info\{hash="[0-9a-f]+",source="([^"]+)"/m)).toBe(
      `url ${url}`,
    );
  });

  it('counts a supergraph URL that answers 500 in metrics and health, and keeps serving the supergraph it has', async () => {
    let failing = false;
    const served = supergraphOf(V2);
    const server: Server = createServer((_req, res) => {
      if (failing) res.writeHead(500).end('internal error');
      else res.writeHead(200, { etag: `"${sha256(served)}"` }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph.graphql`;
    const gateway = await startGateway({ SUPERGRAPH_URL: url, SUPERGRAPH_POLL_INTERVAL_MS: '100' });
    const sourceErrors = async () =>
      Number(await metric(gateway, /^gateway_supergraph_source_errors_total (\S+)$/m));
    expect(await sourceErrors()).toBe(0);

    failing = true;
    await eventually(async () => expect(await sourceErrors()).toBeGreaterThanOrEqual(2));
    expect(await supergraphHealth(gateway)).toMatchObject({
      hash: sha256(served),
      sourceErrors: expect.any(Number),
      lastSourceError: { reason: expect.stringContaining('answered 500') },
    });
    expect((await postGraphQL(gateway.url, '{ version added }')).data).toEqual({ version: 1, added: 'here' });
    expect(await reloads(gateway, 'refused')).toBe('0');
  });
});
