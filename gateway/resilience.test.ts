import { deleteRedisKeys } from '../common/testing/cleanup';
import { testServers } from '../common/testing/env';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { captureLogs } from '../common/testing/logger';
import { testNamespace } from '../common/testing/namespace';
import type { RunningGateway } from './app';
import { type SignedInCaller, signedInCaller } from './testing/signed-in-caller';
import {
  type Stub,
  type StubSubgraph,
  startGatewayInFront,
  startStubSubgraph,
} from './testing/stub-subgraph';

const ME = { status: 200, body: { data: { me: { id: 'u-1' } } } };
const MODELS = { status: 200, body: { data: { models: [{ id: 'm-1' }] } } };
const CONVERSATION = {
  status: 200,
  body: { data: { conversation: { __typename: 'Conversation', id: 'c-1', title: 'Kept' } } },
};
const PROXY_DOWN = { status: 503, body: { message: 'no healthy upstream' } };
const TIMEOUT_MS = 1000;
const COOLDOWN_MS = 600;

const stubOf = (answer: Stub['answer']): Stub => ({ answer, received: [] });

describe('subgraph calls: retries, and a circuit per subgraph', () => {
  const logs = captureLogs('gateway', 'error');
  const namespace = testNamespace('resilience');
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await deleteRedisKeys(testServers().redisUrl, `${namespace}:`);
  });

  let caller: SignedInCaller;
  beforeAll(async () => {
    caller = await signedInCaller();
    closers.push(() => caller.close());
  });
  const me = (gateway: RunningGateway, query = '{ me { id } }') =>
    postGraphQL(gateway.url, query, {}, caller.headers);

  /** A gateway whose auth and chat subgraphs are stubs (conversation is unreachable). */
  const start = async (authUrl: string, chatUrl: string, env: Record<string, string> = {}) => {
    const gateway: RunningGateway = await startGatewayInFront(authUrl, namespace, logs.logger, {
      JWKS_URL: caller.jwksUrl,
      CHAT_URL: chatUrl,
      SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS),
      SUBGRAPH_RETRY_BASE_MS: '20',
      SUBGRAPH_BREAKER_FAILURES: '3',
      SUBGRAPH_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      RATE_LIMIT_ENABLED: 'false',
      ...env,
    });
    closers.push(() => gateway.stop());
    return gateway;
  };
  const stub = async (answer: Stub['answer'], port?: number) => {
    const state = stubOf(answer);
    const server: StubSubgraph = await startStubSubgraph(state, port);
    return { state, server, port: Number(new URL(server.url).port) };
  };
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };
  const circuitGauge = async (gateway: RunningGateway, subgraph: string) => {
    const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
    return metrics.match(new RegExp(`gateway_subgraph_circuit_state\\{subgraph="${subgraph}"\\} (\\d)`))?.[1];
  };
  const circuitInHealth = async (gateway: RunningGateway, subgraph: string) => {
    const report = (await (await fetch(new URL('/health/all', gateway.url))).json()) as {
      components: Record<string, { circuit?: string }>;
    };
    return report.components[subgraph]?.circuit;
  };

  it('serves the other subgraphs while one is down, fails fast once its circuit opens, and recovers when it is back', async () => {
    const auth = await stub(ME);
    const chat = await stub(MODELS);
    closers.push(() => auth.server.close());
    const gateway = await start(auth.server.url, chat.server.url);
    expect((await postGraphQL(gateway.url, '{ models { id } }')).data).toEqual({ models: [{ id: 'm-1' }] });

    await chat.server.close();
    for (let i = 0; i < 3; i += 1) {
      const response = await postGraphQL(gateway.url, '{ models { id } }');
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        dependency: 'chat',
      });
      expect((await me(gateway)).data).toEqual({ me: { id: 'u-1' } });
    }
    // A query across both: auth's part is fetched, and the error names the subgraph that failed.
    // Both root fields are non-null, so chat's failure nulls the whole `data` (see the next test).
    const authAsked = auth.state.received.length;
    const across = await me(gateway, '{ me { id } models { id } }');
    expect(errorCodes(across)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(across.errors?.[0].extensions?.dependency).toBe('chat');
    expect(across.data).toBeNull();
    expect(auth.state.received.length).toBe(authAsked + 1);
    expect(await circuitGauge(gateway, 'chat')).toBe('2');
    expect(await circuitGauge(gateway, 'auth')).toBe('0');
    expect(await circuitInHealth(gateway, 'chat')).toBe('open');

    const restarted = await stub(MODELS, chat.port);
    closers.push(() => restarted.server.close());
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS));
    expect((await postGraphQL(gateway.url, '{ models { id } }')).data).toEqual({ models: [{ id: 'm-1' }] });
    expect(await circuitGauge(gateway, 'chat')).toBe('0');
  });

  it('answers with the live subgraph’s data and an error for the dead one where the failed field may be null', async () => {
    const auth = await stub(ME);
    const conversation = await stub(CONVERSATION);
    const chat = await stub(MODELS);
    closers.push(
      () => auth.server.close(),
      () => conversation.server.close(),
    );
    const gateway = await start(auth.server.url, chat.server.url, {
      CONVERSATION_URL: conversation.server.url,
    });
    await chat.server.close();

    // Conversation.activeGeneration is nullable and chat's: its entity fetch fails, and only it is null.
    const response = await me(gateway, '{ conversation(id: "c-1") { id title activeGeneration { id } } }');
    expect(response.data).toEqual({ conversation: { id: 'c-1', title: 'Kept', activeGeneration: null } });
    expect(response.errors).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', dependency: 'chat' }),
      }),
    ]);
    expect(conversation.state.received).toHaveLength(1);
  });

  it('answers at once, without waiting for the timeout, while the circuit of a hung subgraph is open', async () => {
    const auth = await stub(ME);
    const chat = await stub('never');
    closers.push(
      () => auth.server.close(),
      () => chat.server.close(),
    );
    const gateway = await start(auth.server.url, chat.server.url);
    for (let i = 0; i < 3; i += 1) {
      const { result, ms } = await timed(() => postGraphQL(gateway.url, '{ models { id } }'));
      expect(errorCodes(result)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    }
    // Timeouts are not retried: one request each.
    expect(chat.state.received).toHaveLength(3);

    const { result, ms } = await timed(() => postGraphQL(gateway.url, '{ models { id } }'));
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', dependency: 'chat' });
    expect(ms).toBeLessThan(TIMEOUT_MS / 4);
    expect(chat.state.received).toHaveLength(3);

    // After the cooldown one probe goes through; it succeeds and the circuit closes.
    chat.state.answer = MODELS;
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS));
    expect((await postGraphQL(gateway.url, '{ models { id } }')).data).toEqual({ models: [{ id: 'm-1' }] });
    expect(chat.state.received).toHaveLength(4);
  });

  it('retries a query on a passing failure, and never a mutation', async () => {
    const auth = await stub(ME);
    closers.push(() => auth.server.close());
    const gateway = await start(auth.server.url, auth.server.url, { SUBGRAPH_BREAKER_FAILURES: '100' });

    auth.state.next = [PROXY_DOWN, PROXY_DOWN];
    expect((await me(gateway)).data).toEqual({ me: { id: 'u-1' } });
    expect(auth.state.received).toHaveLength(3);

    auth.state.received.length = 0;
    auth.state.answer = PROXY_DOWN;
    const query = await me(gateway);
    expect(errorCodes(query)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(auth.state.received).toHaveLength(3);

    auth.state.received.length = 0;
    const mutation = await postGraphQL(
      gateway.url,
      'mutation { requestPasswordReset(email: "a@example.com") }',
    );
    expect(mutation.errors?.[0].extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      dependency: 'auth',
    });
    expect(auth.state.received).toHaveLength(1);
  });
});
