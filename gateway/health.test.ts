import { type ChromaServer, startChromaServer } from '../common/testing/chroma';
import { findFreePort } from '../common/util/free-port';
import { startTestPlatform, type TestPlatform } from '../test/support/platform';
import type { RunningGateway } from './app';
import { loadGatewayConfig } from './config';
import { startGatewayOn } from './plugins/testing/edge-gateway';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123';

interface Report {
  status: string;
  components: Record<string, { status: string; latencyMs: number; error?: string }>;
}

describe('the gateway’s health and operator endpoints', () => {
  let platform: TestPlatform;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform('gateway-health');
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await platform?.stop();
  });

  const start = async (env: Record<string, string>) => {
    const gateway = await startGatewayOn(platform, env);
    gateways.push(gateway);
    return gateway;
  };
  const get = (gateway: RunningGateway, path: string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, gateway.url), { headers });

  it('answers 503 naming the component that is down, without its error detail', async () => {
    const gateway = await start({ REDIS_URL: `redis://127.0.0.1:${await findFreePort()}` });
    const response = await get(gateway, '/health/all');
    expect(response.status).toBe(503);
    const report = (await response.json()) as Report;
    expect(report.status).toBe('down');
    expect(report.components['gateway.redis']).toEqual({ status: 'down', latencyMs: expect.any(Number) });
    expect(report.components.auth).toMatchObject({ status: 'ok' });
  });

  describe('with OPERATOR_TOKEN', () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      // With REDIS_URL given, startGatewayOn does not wait on /health/all, which would refuse it.
      gateway = await start({ OPERATOR_TOKEN, REDIS_URL: platform.env.REDIS_URL });
    });

    it.each(['/metrics', '/health/all'])(
      'refuses %s without the token, and answers with it',
      async (path) => {
        expect((await get(gateway, path)).status).toBe(401);
        expect((await get(gateway, path, { authorization: 'Bearer not-the-token' })).status).toBe(401);
        expect((await get(gateway, path, { authorization: `Bearer ${OPERATOR_TOKEN}` })).status).toBe(200);
      },
    );

    it('is required in production: the gateway will not start without one, and an empty one is none', () => {
      const production = { ...platform.env, NODE_ENV: 'production' };
      expect(() => loadGatewayConfig(production)).toThrow(
        /OPERATOR_TOKEN: required when NODE_ENV=production/,
      );
      // What docker-compose's `${OPERATOR_TOKEN:-}` passes when .env does not set it.
      expect(() => loadGatewayConfig({ ...production, OPERATOR_TOKEN: '' })).toThrow(/OPERATOR_TOKEN/);
      expect(loadGatewayConfig({ ...production, OPERATOR_TOKEN }).OPERATOR_TOKEN).toBe(OPERATOR_TOKEN);
    });

    it('leaves /health and GraphQL open', async () => {
      expect((await get(gateway, '/health')).status).toBe(200);
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status).toBe(200);
    });
  });
});

describe('a data store that goes down and comes back', () => {
  let chroma: ChromaServer;
  let platform: TestPlatform;

  beforeAll(async () => {
    // A Chroma server of this test's own, so that stopping it disturbs no other test file.
    chroma = await startChromaServer();
    platform = await startTestPlatform('gateway-health-chroma', { env: { CHROMA_URL: chroma.url } });
  });
  afterAll(async () => {
    await platform?.stop();
    await chroma?.dispose();
  });

  const healthUntil = async (status: number): Promise<Report> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const response = await fetch(new URL('/health/all', platform.gatewayUrl));
      if (response.status === status || Date.now() > deadline) {
        expect(response.status).toBe(status);
        return (await response.json()) as Report;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  it('turns /health/all to 503 naming Chroma while it is down, and back to 200, with every process up', async () => {
    await healthUntil(200);
    await chroma.stop();
    const down = await healthUntil(503);
    expect(down.components['conversation.chroma'].status).toBe('down');
    expect(down.components.conversation.status).toBe('ok');
    expect(
      Object.entries(down.components)
        .filter(([, c]) => c.status === 'down')
        .map(([name]) => name),
    ).toEqual(['conversation.chroma']);
    await chroma.start();
    const back = await healthUntil(200);
    expect(back.status).toBe('ok');
  }, 60_000);
});
