import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import WebSocket from 'ws';
import { createRedis } from '../stores/redis';
import type { RunningSubgraph } from './subgraph-server';
import { deleteRedisKeys } from '../testing/cleanup';
import { testServers } from '../testing/env';
import { errorCodes, postGraphQL } from '../testing/graphql-client';
import { serviceConnectionParams, signedHeaders } from '../testing/identity';
import { silentLogger } from '../testing/logger';
import { testNamespace } from '../testing/namespace';
import { startTestSubgraph } from '../testing/test-subgraph';

/*
 * The guard every subgraph runs (common/server/subgraph-server.ts), on a small subgraph of its own: what
 * it refuses whoever the caller is, and what production never tells a caller.
 */

const sdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@listSize"])
  type Query { things(first: Int = 10, kind: Kind): [Thing!]! @listSize(slicingArguments: ["first"]), blob: String! }
  type Thing @key(fields: "id") { id: ID!, kind: Kind!, parts: [Thing!]! @listSize(assumedSize: 10) }
  enum Kind { SMALL LARGE }
`;
const thing = (id: number) => ({ id: String(id), kind: 'SMALL' });
const prefix = `${testNamespace('subgraph-guard')}:`;
const redis = createRedis({ url: testServers().redisUrl, keyPrefix: prefix, logger: silentLogger() });

async function startGuarded(env: Record<string, string>): Promise<RunningSubgraph> {
  return startTestSubgraph({
    name: 'guarded',
    redis,
    env,
    subscriptions: true,
    schema: buildSubgraphSchema({
      typeDefs: parse(sdl),
      resolvers: {
        Query: {
          things: (_: unknown, { first }: { first: number }) =>
            Array.from({ length: first }, (_, i) => thing(i)),
          blob: () => 'x'.repeat(10_000),
        },
        Thing: { parts: () => Array.from({ length: 10 }, (_, i) => thing(i)) },
      },
    }),
  });
}

describe('the subgraph guard', () => {
  const servers: RunningSubgraph[] = [];
  let development: RunningSubgraph;
  let production: RunningSubgraph;

  beforeAll(async () => {
    development = await startGuarded({ MAX_COST: '500', MAX_RESPONSE_BYTES: '4096' });
    production = await startGuarded({ NODE_ENV: 'production', MAX_COST: '500', MAX_RESPONSE_BYTES: '4096' });
    servers.push(development, production);
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await deleteRedisKeys(testServers().redisUrl, prefix);
    redis.disconnect();
  });

  const ask = (server: RunningSubgraph, query: string, variables = {}) =>
    postGraphQL(
      server.url,
      query,
      variables,
      signedHeaders('user-1', { audience: 'guarded', query, variables }),
    );

  it('refuses an estimated cost past twice the gateway’s, counting list sizes', async () => {
    // things(first: 20) × parts (10) × 1 field: 1 + 20 × (1 + 10 × 1) = 221, under 1000.
    expect((await ask(development, '{ things(first: 20) { parts { id } } }')).errors).toBeUndefined();
    // One more level: 1 + 20 × (1 + 10 × (1 + 10)) = 2221.
    const refused = await ask(development, '{ things(first: 20) { parts { parts { id } } } }');
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'cost',
    });
  });

  it('refuses a response whose JSON is larger than MAX_RESPONSE_BYTES', async () => {
    const response = await ask(development, '{ blob }');
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_REQUEST',
      limit: 'responseSize',
      max: 4096,
    });
  });

  it('names a field the client may have meant outside production, never in production', async () => {
    const query = '{ things { idd } }';
    expect((await ask(development, query)).errors?.[0].message).toContain('Did you mean "id"');
    const hidden = await ask(production, query);
    expect(errorCodes(hidden)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(hidden.errors?.[0].message).not.toContain('Did you mean');
    const variable = 'query($k: Kind) { things(kind: $k) { id } }';
    expect(JSON.stringify((await ask(development, variable, { k: 'SMAL' })).errors)).toContain(
      'Did you mean',
    );
    const hiddenVariable = await ask(production, variable, { k: 'SMAL' });
    expect(errorCodes(hiddenVariable)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(hiddenVariable.errors)).not.toContain('Did you mean');
  });

  it('answers introspection outside production only', async () => {
    expect((await ask(development, '{ __schema { queryType { name } } }')).data).toBeTruthy();
    expect(errorCodes(await ask(production, '{ __schema { queryType { name } } }'))).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
    ]);
  });

  it('applies the limits to a subscription over its WebSocket too', async () => {
    const query = '{ things(first: 50) { parts { parts { id } } } }';
    const socket = new WebSocket(development.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: serviceConnectionParams('guarded') }));
    await new Promise((resolve) => socket.once('message', resolve));
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query, extensions: signedHeaders('user-1', { audience: 'guarded', query }) },
      }),
    );
    const message = await new Promise<string>((resolve) =>
      socket.once('message', (data: Buffer) => resolve(data.toString())),
    );
    socket.close();
    expect(JSON.parse(message)).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' } }],
    });
  });
});
