import { IDENTITY_HEADER, operationDigest, verifyIdentity } from '../common/identity/identity';
import { REQUEST_ID_HEADER } from '../common/server/request-id';
import { testServers, TEST_IDENTITY_SECRET } from '../common/testing/env';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { captureLogs } from '../common/testing/logger';
import { testNamespace } from '../common/testing/namespace';
import { deleteRedisKeys } from '../common/testing/cleanup';
import { eventually } from '../common/testing/wait';
import type { RunningGateway } from './app';
import { type SignedInCaller, signedInCaller } from './testing/signed-in-caller';
import {
  type Stub,
  type StubSubgraph,
  startGatewayInFront,
  startStubSubgraph,
} from './testing/stub-subgraph';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('what reaches a subgraph, and what comes back from one', () => {
  const stub: Stub = {
    answer: { status: 200, body: { data: { me: { id: 'u-1' } } } },
    received: [],
    bodies: [],
  };
  const logs = captureLogs('gateway', 'info');
  const namespace = testNamespace('upstream');
  let subgraph: StubSubgraph;
  let gateway: RunningGateway;
  let caller: SignedInCaller;

  beforeAll(async () => {
    subgraph = await startStubSubgraph(stub);
    caller = await signedInCaller();
    gateway = await startGatewayInFront(subgraph.url, namespace, logs.logger, {
      SUBGRAPH_TIMEOUT_MS: '500',
      JWKS_URL: caller.jwksUrl,
    });
    // A signed-in request checks revocations in Redis: wait until the gateway's connection is up.
    await eventually(async () =>
      expect((await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers)).errors).toBeUndefined(),
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await caller?.close();
    await subgraph?.close();
    await deleteRedisKeys(testServers().redisUrl, `${namespace}:`);
  });
  beforeEach(() => {
    stub.answer = { status: 200, body: { data: { me: { id: 'u-1' } } } };
    stub.received.length = 0;
    stub.bodies = [];
  });

  it('sends the request id, the signed identity and the caller’s trace on to the subgraph', async () => {
    const response = await postGraphQL(
      gateway.url,
      '{ me { id } }',
      {},
      {
        ...caller.headers,
        [REQUEST_ID_HEADER]: 'req-upstream-1',
        traceparent: TRACEPARENT,
      },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ me: { id: 'u-1' } });
    const [headers] = stub.received;
    expect(headers[REQUEST_ID_HEADER]).toBe('req-upstream-1');
    // Signed for the auth subgraph and for exactly the body it was sent with.
    const binding = { audience: 'auth', digest: operationDigest(JSON.parse(stub.bodies?.[0] ?? '{}')) };
    expect(
      verifyIdentity(headers[IDENTITY_HEADER] as string, TEST_IDENTITY_SECRET, binding).identity,
    ).toMatchObject({
      userId: caller.userId,
      requestId: 'req-upstream-1',
      issuer: 'gateway',
    });
    // Same trace; the parent is a span of the gateway's own, not the caller's.
    const [version, traceId, parentId] = String(headers.traceparent).split('-');
    expect({ version, traceId }).toEqual({ version: '00', traceId: TRACE_ID });
    expect(parentId).toMatch(/^[0-9a-f]{16}$/);
    expect(parentId).not.toBe('00f067aa0ba902b7');
  });

  it('starts a trace for a caller that sent none (unsampled, as no collector is configured)', async () => {
    await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
    expect(stub.received[0].traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it('reuses its connection to the subgraph across requests', async () => {
    await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
    await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
    expect(stub.received.map((headers) => headers.connection)).toEqual(['keep-alive', 'keep-alive']);
  });

  it('masks an unexpected subgraph error as INTERNAL with the request id, and logs the detail with it', async () => {
    stub.answer = {
      status: 200,
      body: { data: null, errors: [{ message: 'relation "users" does not exist at db-7' }] },
    };
    const response = await postGraphQL(
      gateway.url,
      '{ me { id } }',
      {},
      { ...caller.headers, [REQUEST_ID_HEADER]: 'req-masked-1' },
    );
    expect(response.errors).toEqual([
      expect.objectContaining({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL', requestId: 'req-masked-1' },
      }),
    ]);
    expect(JSON.stringify(response)).not.toContain('db-7');
    const logged = logs.lines().find((line) => line.includes('db-7'));
    expect(JSON.parse(logged ?? '{}')).toMatchObject({ requestId: 'req-masked-1', msg: 'unexpected error' });
  });

  it('passes a subgraph’s own coded error through unchanged', async () => {
    stub.answer = {
      status: 200,
      body: { data: null, errors: [{ message: 'Sign in first', extensions: { code: 'UNAUTHENTICATED' } }] },
    };
    const response = await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
    expect(response.errors?.[0]).toMatchObject({
      message: 'Sign in first',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('answers UPSTREAM_UNAVAILABLE, naming the subgraph, when it cannot be reached', async () => {
    const response = await postGraphQL(gateway.url, '{ models { id } }');
    expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.errors?.[0].extensions?.dependency).toBe('chat');
  });

  it.each([502, 503, 504])(
    'answers UPSTREAM_UNAVAILABLE, naming the subgraph, when a proxy in front of it answers %i',
    async (status) => {
      stub.answer = { status, body: { message: 'no healthy upstream' } };
      const response = await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        dependency: 'auth',
        retryAfter: 2,
      });
    },
  );

  it('gives up on a subgraph that does not answer within the timeout', async () => {
    stub.answer = 'never';
    const response = await postGraphQL(gateway.url, '{ me { id } }', {}, caller.headers);
    expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.errors?.[0].extensions?.dependency).toBe('auth');
  });

  it('writes one access-log line per operation, without variables or tokens', async () => {
    await postGraphQL(
      gateway.url,
      'query Me($hide: Boolean!) { me { id @skip(if: $hide) } }',
      { hide: false, password: 'hunter2' },
      { ...caller.headers, [REQUEST_ID_HEADER]: 'req-logged-1' },
    );
    const lines = logs.lines().filter((line) => line.includes('req-logged-1'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      msg: 'operation',
      operationName: 'Me',
      operationType: 'query',
      status: 200,
      outcome: 'ok',
      userId: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain(caller.headers.authorization.replace(/^Bearer /, ''));
  });
});
