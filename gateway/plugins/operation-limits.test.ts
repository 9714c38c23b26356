import { once } from 'node:events';
import WebSocket from 'ws';
import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { firstResultOf, postRaw, startGatewayOn, webSocketClient } from './testing/edge-gateway';

const LIMITS = {
  MAX_DEPTH: '5',
  MAX_ALIASES: '2',
  MAX_ROOT_FIELDS: '3',
  MAX_TOKENS: '60',
  MAX_COST: '100',
  COST_LIST_SIZE_CAP: '50',
  MAX_BODY_BYTES: '2048',
};

/** Production needs an operator token for /metrics and /health/all. */
const PRODUCTION = { NODE_ENV: 'production', OPERATOR_TOKEN: 'operator-token-for-tests-0123' };

describe('operation limits at the gateway', () => {
  let platform: TestPlatform;
  let gateway: RunningGateway;

  beforeAll(async () => {
    platform = await startTestPlatform('operation-limits');
    gateway = await startGatewayOn(platform, LIMITS);
  });
  afterAll(async () => {
    await gateway?.stop();
    await platform?.stop();
  });

  const expectRefused = async (query: string, limit: string, max: number, variables = {}) => {
    const response = await postGraphQL(gateway.url, query, variables);
    expect(response.status).toBe(400);
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit, max });
    expect(response.errors?.[0].extensions?.requestId).toEqual(expect.any(String));
  };
  const expectAllowed = async (query: string, variables = {}) => {
    const response = await postGraphQL(gateway.url, query, variables);
    expect(errorCodes(response)).not.toContain('GRAPHQL_VALIDATION_FAILED');
  };

  it('refuses an operation nested deeper than the maximum depth', async () => {
    await expectAllowed('{ me { conversations { edges { node { id } } } } }');
    await expectRefused('{ me { conversations { edges { node { lastMessage { id } } } } } }', 'depth', 5);
  });

  it('refuses more aliases than allowed, counting those in fragments', async () => {
    await expectAllowed('{ a: __typename b: __typename }');
    await expectRefused(
      '{ a: __typename ...F } fragment F on Query { b: __typename c: __typename }',
      'aliases',
      2,
    );
  });

  it('refuses more root fields than allowed', async () => {
    await expectRefused(
      '{ __typename models { id } sessions { id } generation(id: "x") { id } }',
      'rootFields',
      3,
    );
  });

  it('refuses a document with more tokens than allowed, before parsing it in full', async () => {
    const fields = Array.from({ length: 80 }, () => '__typename').join(' ');
    await expectRefused(`{ ${fields} }`, 'tokens', 60);
  });

  it('estimates cost by multiplying by first/last, capped, with variables', async () => {
    const query = 'query($n: Int!) { me { conversations(first: $n) { edges { node { id title } } } } }';
    await expectAllowed(query, { n: 20 });
    await expectRefused(query, 'cost', 100, { n: 40 });
    await expectRefused(query, 'cost', 100, { n: 1_000_000 });
  });

  it('counts an omitted first at its schema default', async () => {
    // me 1 + conversations 1 + edges (1 + 20 × node (1 + 4 fields)) = 103 > 100.
    await expectRefused(
      '{ me { conversations { edges { node { id title createdAt lastActivityAt } } } } }',
      'cost',
      100,
    );
  });

  it('counts Conversation.messages without first or last at the page it then returns (50)', async () => {
    // conversation 1 + messages 1 + edges (1 + 50 × node (1 + 2 fields)) = 153 > 100; it used to be 6.
    await expectRefused(
      '{ conversation(id: "x") { messages { edges { node { id content } } } } }',
      'cost',
      100,
    );
  });

  it('counts a list without arguments at its @listSize: Message.siblings is 20', async () => {
    // generation 1 + message 1 + siblings (1 + 20 × (1 + 2 fields)) = 63; one level deeper, 20 times that.
    await expectAllowed('query($id: ID!) { generation(id: $id) { message { siblings { id content } } } }', {
      id: 'x',
    });
    await expectRefused('{ generation(id: "x") { message { siblings { siblings { id } } } } }', 'cost', 100);
  });

  it('refuses a body larger than allowed with 413, before parsing it', async () => {
    const response = await postRaw(
      gateway.url,
      JSON.stringify({ query: `{ __typename }${' '.repeat(4096)}` }),
    );
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST', limit: 'bodySize' } }],
    });
  });

  it('closes a WebSocket that sends a message larger than the body limit (1009), before parsing it', async () => {
    const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await once(socket, 'message');
    socket.send(
      JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ __typename }${' '.repeat(4096)}` } }),
    );
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(1009);
  });

  it('refuses a document over the token limit over WebSocket and SSE too', async () => {
    const query = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const client = webSocketClient(gateway);
    try {
      expect((await firstResultOf(client, query)).errors?.[0].extensions).toMatchObject({
        limit: 'tokens',
        max: 60,
      });
    } finally {
      await client.dispose();
    }
    const sse = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
    });
    expect(await sse.text()).toContain('"limit":"tokens"');
  });

  it('refuses an SSE POST that is not JSON (415), so no body escapes the parser or CSRF prevention', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; x=application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: `mutation { logout }${' '.repeat(4096)}` }),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST', requestId: expect.any(String) } }],
    });
  });

  it('refuses batched requests by default', async () => {
    const batch = JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    const response = await postRaw(gateway.url, batch);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errors: [{ extensions: { limit: 'batchSize', max: 0 } }] });
  });

  it('answers a batch within MAX_BATCH_SIZE, operation by operation, and refuses a longer one', async () => {
    const batching = await startGatewayOn(platform, { MAX_BATCH_SIZE: '2' });
    try {
      const two = await postRaw(
        batching.url,
        JSON.stringify([{ query: '{ __typename }' }, { query: '{ a: __typename }' }]),
      );
      expect(two.status).toBe(200);
      expect(two.body).toEqual([{ data: { __typename: 'Query' } }, { data: { a: 'Query' } }]);
      const three = await postRaw(batching.url, JSON.stringify(Array(3).fill({ query: '{ __typename }' })));
      expect(three.status).toBe(400);
      expect(three.body).toMatchObject({ errors: [{ extensions: { limit: 'batchSize', max: 2 } }] });
    } finally {
      await batching.stop();
    }
  });

  it('applies the same limits to subscriptions over WebSocket', async () => {
    const client = webSocketClient(gateway);
    try {
      const query =
        'subscription { generation(id: "x") { generation { conversation { messages { edges { node { id } } } } } } }';
      const result = await firstResultOf(client, query);
      expect(result.errors?.[0].extensions).toMatchObject({ limit: 'depth', max: 5 });
    } finally {
      await client.dispose();
    }
  });

  describe('"Did you mean …" suggestions', () => {
    const misspelt = [
      ['a field', '{ modelz { id } }', {}],
      [
        'a variable’s field',
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { emial: 'a@example.test', password: 'x' } },
      ],
    ] as const;

    it.each(misspelt)(
      'name what the client may have meant outside production (%s)',
      async (_what, query, variables) => {
        expect(JSON.stringify((await postGraphQL(gateway.url, query, variables)).errors)).toContain(
          'Did you mean',
        );
      },
    );

    it('are never given in production, over HTTP or WebSocket', async () => {
      const production = await startGatewayOn(platform, PRODUCTION);
      const client = webSocketClient(production);
      try {
        for (const [, query, variables] of misspelt) {
          const response = await postGraphQL(production.url, query, variables);
          expect(response.errors?.length).toBeGreaterThan(0);
          expect(JSON.stringify(response.errors)).not.toContain('Did you mean');
        }
        const overWebSocket = await firstResultOf(client, misspelt[0][1]);
        expect(overWebSocket.errors?.length).toBeGreaterThan(0);
        expect(JSON.stringify(overWebSocket.errors)).not.toContain('Did you mean');
        const subscription = await firstResultOf(client, 'subscription { generation(id: "x") { seqq } }');
        expect(JSON.stringify(subscription.errors)).not.toContain('Did you mean');
      } finally {
        await client.dispose();
        await production.stop();
      }
    });
  });

  describe('introspection', () => {
    const introspect = (url: string) => postGraphQL(url, '{ __schema { queryType { name } } }');

    it('is answered outside production', async () => {
      expect((await introspect(gateway.url)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    });

    it('is refused in production unless turned on', async () => {
      const production = await startGatewayOn(platform, PRODUCTION);
      const turnedOn = await startGatewayOn(platform, { ...PRODUCTION, INTROSPECTION: 'true' });
      try {
        expect(errorCodes(await introspect(production.url))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
        expect((await introspect(turnedOn.url)).data).toBeTruthy();
      } finally {
        await production.stop();
        await turnedOn.stop();
      }
    });
  });
});
