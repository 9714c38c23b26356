import { freePort } from '../common/testing/ports';
import { startTestPlatform, type TestPlatform } from '../common/testing/platform';
import type { RunningGateway } from './app';
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
    const gateway = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
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
