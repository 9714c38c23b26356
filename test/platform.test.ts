import { IDENTITY_HEADER, operationDigest, signIdentity } from '../common/identity/identity';
import { TEST_IDENTITY_SECRET } from '../common/testing/env';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { type LoopbackServer, startLoopbackServer } from '../subgraphs/chat/testing/loopback-llm';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** The gateway's /health/all: every subgraph and store, with their details. */
async function platformHealth(platform: TestPlatform) {
  const response = await fetch(new URL('/health/all', platform.gatewayUrl));
  const body = (await response.json()) as {
    status: string;
    components: Record<string, { status: string }>;
    details: Record<string, unknown>;
  };
  return { response, body };
}

describe('the platform through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('platform');
  });
  afterAll(() => platform?.stop());

  it('answers a query through the gateway', async () => {
    const response = await postGraphQL(platform.gatewayUrl, '{ __typename }');
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ __typename: 'Query' });
  });

  it('routes a root field to the subgraph that owns it', async () => {
    const response = await postGraphQL(platform.gatewayUrl, '{ models { id provider isDefault } }');
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      models: [{ id: 'offline/echo', provider: 'OFFLINE', isDefault: true }],
    });
  });

  it('gives every response a request id, keeping a sane one the client sent', async () => {
    const fresh = await postGraphQL(platform.gatewayUrl, '{ __typename }');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await postGraphQL(
      platform.gatewayUrl,
      '{ __typename }',
      {},
      { 'x-request-id': 'client-req-42' },
    );
    expect(kept.headers.get('x-request-id')).toBe('client-req-42');
  });

  it('puts the request id on errors', async () => {
    const response = await postGraphQL(
      platform.gatewayUrl,
      '{ me { id } }',
      {},
      { 'x-request-id': 'req-err-1' },
    );
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.errors?.[0].extensions?.requestId).toBe('req-err-1');
  });

  it('reports itself healthy at /health', async () => {
    const response = await fetch(new URL('/health', platform.gatewayUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ service: 'gateway', status: 'ok' });
  });

  it('reports every subgraph and data store at /health/all with status and latency', async () => {
    const { response, body } = await platformHealth(platform);
    expect(response.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.components)).toEqual([
      'auth',
      'auth.postgres',
      'auth.redis',
      'chat',
      'chat.redis',
      'conversation',
      'conversation.chroma',
      'conversation.postgres',
      'conversation.redis',
      'gateway.redis',
    ]);
    for (const component of Object.values(body.components)) {
      expect(component).toMatchObject({ status: 'ok', latencyMs: expect.any(Number) });
    }
    expect(body.details).toEqual({
      chat: {
        models: {
          defaultModel: 'offline/echo',
          problem: null,
          served: ['offline/echo'],
          providers: [{ name: 'offline', available: true, models: 1 }],
        },
      },
      gateway: {
        supergraph: {
          source: expect.stringMatching(/^file .*schema\/supergraph\.graphql$/),
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
          loadedAt: expect.any(String),
          applied: 0,
          refused: 0,
          sourceErrors: 0,
        },
      },
    });
  });

  describe.each(['auth', 'conversation', 'chat'] as const)('the %s subgraph', (name) => {
    const url = () => platform.subgraphs[name].url;

    it('refuses a request that did not come through the gateway', async () => {
      const response = await postGraphQL(url(), '{ __typename }');
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    });

    it('refuses a made-up identity header', async () => {
      const response = await postGraphQL(
        url(),
        '{ __typename }',
        {},
        {
          'x-user-id': '00000000-0000-4000-8000-000000000000',
          [IDENTITY_HEADER]: 'v1.eyJzdWIiOiJ4In0.forged',
        },
      );
      expect(response.status).toBe(401);
    });

    it('accepts a correctly signed identity', async () => {
      const identity = signIdentity(
        { userId: null, role: null, sessionId: null, requestId: 'direct', issuer: 'gateway' },
        TEST_IDENTITY_SECRET,
        { audience: name, digest: operationDigest({ query: '{ __typename }', variables: {} }) },
      );
      const response = await postGraphQL(url(), '{ __typename }', {}, { [IDENTITY_HEADER]: identity });
      expect(response.data).toEqual({ __typename: 'Query' });
    });

    it('answers /health without an identity', async () => {
      const response = await fetch(new URL('/health', url()));
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ service: name, status: 'ok' });
    });
  });
});

describe('a platform whose default model no provider serves', () => {
  let llm: LoopbackServer;
  let platform: TestPlatform;

  beforeAll(async () => {
    llm = await startLoopbackServer();
    llm.serveModels('alpha', 'beta');
    platform = await startTestPlatform('platform-default-model', {
      serviceEnv: {
        chat: { OPENAI_COMPATIBLE_ENDPOINTS: `lab=${llm.url}/v1`, DEFAULT_MODEL: 'lab/gamma' },
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await llm?.close();
  });

  it('starts, and tells operators at /health/all which model is missing and what is served', async () => {
    const { response, body } = await platformHealth(platform);
    expect(response.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.components.chat).toMatchObject({ status: 'ok' });
    const served = ['offline/echo', 'lab/alpha', 'lab/beta'];
    expect(body.details.chat).toEqual({
      models: {
        defaultModel: 'lab/gamma',
        problem: `The default model lab/gamma is not served by any provider; served: ${served.join(', ')}`,
        served,
        providers: [
          { name: 'offline', available: true, models: 1 },
          { name: 'lab', available: true, models: 2 },
        ],
      },
    });

    // The models that are served are still offered.
    const models = await postGraphQL<{ models: { id: string }[] }>(platform.gatewayUrl, '{ models { id } }');
    expect(models.data?.models.map((model) => model.id)).toEqual(served);
  });
});
