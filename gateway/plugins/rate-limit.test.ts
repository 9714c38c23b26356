import type { Client } from 'graphql-ws';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { findFreePort } from '../../common/util/free-port';
import type { RunningGateway } from '../app';
import { firstResultOf, startGatewayOn, webSocketClient } from './testing/edge-gateway';

const PING = '{ __typename }';
const WRONG_LOGIN =
  'mutation { login(input: { email: "nobody@example.test", password: "wrong password" }) { accessToken } }';

describe('rate limits at the gateway', () => {
  let platform: TestPlatform;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform('rate-limit');
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await platform?.stop();
  });

  /** A gateway whose budgets start full; the ones not named are out of the way. */
  const gatewayWith = async (env: Record<string, string>) => {
    const gateway = await startGatewayOn(platform, {
      RATE_LIMIT_OPERATIONS: '1000/60',
      RATE_LIMIT_CHAT_SENDS: '1000/60',
      RATE_LIMIT_AUTH_ATTEMPTS: '1000/60',
      RATE_LIMIT_SUBSCRIPTIONS: '1000/60',
      ...env,
    });
    gateways.push(gateway);
    return gateway;
  };
  const expectRateLimited = (response: Awaited<ReturnType<typeof postGraphQL>>, budget: string) => {
    expect(response.status).toBe(429);
    expect(errorCodes(response)).toEqual(['RATE_LIMITED']);
    const { retryAfter, limit } = response.errors?.[0].extensions ?? {};
    expect(limit).toBe(budget);
    expect(retryAfter).toEqual(expect.any(Number));
    expect(Number(response.headers.get('retry-after'))).toBe(retryAfter);
    expect(response.data ?? null).toBeNull();
  };

  it('refuses operations past the budget with 429, Retry-After and RATE_LIMITED', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_OPERATIONS: '2/60' });
    for (let i = 0; i < 2; i++) expect((await postGraphQL(gateway.url, PING)).status).toBe(200);
    const refused = await postGraphQL(gateway.url, PING);
    expectRateLimited(refused, 'operations');
    expect(refused.errors?.[0].extensions?.retryAfter).toBeGreaterThan(0);
    expect(refused.errors?.[0].extensions?.retryAfter).toBeLessThanOrEqual(60);
  });

  it('gives each signed-in user a budget of their own, apart from their address', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_OPERATIONS: '2/60' });
    const [alice, bob] = await Promise.all([registerUser(platform), registerUser(platform)]);
    for (let i = 0; i < 2; i++) await postGraphQL(gateway.url, PING, {}, alice.headers);
    expectRateLimited(await postGraphQL(gateway.url, PING, {}, alice.headers), 'operations');
    expect((await postGraphQL(gateway.url, '{ me { id } }', {}, bob.headers)).data).toEqual({
      me: { id: bob.id },
    });
    expect((await postGraphQL(gateway.url, PING)).status).toBe(200);
  });

  describe('chat sends', () => {
    // Sends are for signed-in callers: an anonymous one is refused before any budget is spent.
    const regenerate = (gateway: RunningGateway, user: TestUser, times: number) =>
      postGraphQL(
        gateway.url,
        `mutation { ${Array.from({ length: times }, (_, i) => `r${i}: regenerate(messageId: "00000000-0000-4000-8000-00000000000${i}") { id }`).join(' ')} }`,
        {},
        user.headers,
      );

    it('are counted apart from other operations', async () => {
      const gateway = await gatewayWith({ RATE_LIMIT_CHAT_SENDS: '2/60' });
      const user = await registerUser(platform);
      expect(errorCodes(await regenerate(gateway, user, 1))).not.toContain('RATE_LIMITED');
      expect(errorCodes(await regenerate(gateway, user, 1))).not.toContain('RATE_LIMITED');
      expectRateLimited(await regenerate(gateway, user, 1), 'chatSends');
      expect((await postGraphQL(gateway.url, PING, {}, user.headers)).status).toBe(200);
    });

    it('are counted per root field, so aliases cannot bundle more sends than the budget', async () => {
      const gateway = await gatewayWith({ RATE_LIMIT_CHAT_SENDS: '2/60' });
      expectRateLimited(await regenerate(gateway, await registerUser(platform), 3), 'chatSends');
    });
  });

  it('counts auth attempts apart from other operations', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_AUTH_ATTEMPTS: '2/60' });
    for (let i = 0; i < 2; i++) {
      expect(errorCodes(await postGraphQL(gateway.url, WRONG_LOGIN))).not.toContain('RATE_LIMITED');
    }
    expectRateLimited(await postGraphQL(gateway.url, WRONG_LOGIN), 'authAttempts');
    expect((await postGraphQL(gateway.url, PING)).status).toBe(200);
  });

  describe('the client address', () => {
    it('ignores X-Forwarded-For when no proxy is trusted, so a client cannot make up addresses', async () => {
      const gateway = await gatewayWith({ RATE_LIMIT_OPERATIONS: '2/60', TRUSTED_PROXIES: '' });
      await postGraphQL(gateway.url, PING, {}, { 'x-forwarded-for': '198.51.100.1' });
      await postGraphQL(gateway.url, PING, {}, { 'x-forwarded-for': '198.51.100.2' });
      expectRateLimited(
        await postGraphQL(gateway.url, PING, {}, { 'x-forwarded-for': '198.51.100.3' }),
        'operations',
      );
    });

    it('reads the address our trusted proxy added, and only that entry', async () => {
      const gateway = await gatewayWith({ RATE_LIMIT_OPERATIONS: '2/60', TRUSTED_PROXIES: '127.0.0.1, ::1' });
      const from = (forwardedFor: string) =>
        postGraphQL(gateway.url, PING, {}, { 'x-forwarded-for': forwardedFor });
      await from('198.51.100.1');
      await from('203.0.113.50, 198.51.100.1');
      expectRateLimited(await from('203.0.113.51, 198.51.100.1'), 'operations');
      expect((await from('198.51.100.2')).status).toBe(200);
    });
  });

  describe('subscriptions', () => {
    let client: Client | undefined;
    afterEach(() => client?.dispose());

    it('limits subscriptions opened, over WebSocket', async () => {
      const gateway = await gatewayWith({ RATE_LIMIT_SUBSCRIPTIONS: '1/60' });
      client = webSocketClient(gateway, (await registerUser(platform)).accessToken);
      const query = 'subscription { generation(id: "00000000-0000-4000-8000-000000000000") { seq } }';
      const first = await firstResultOf(client, query);
      expect(first.errors?.map((error) => error.extensions?.code)).not.toContain('RATE_LIMITED');
      const second = await firstResultOf(client, query);
      expect(second.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'subscriptions' });
      expect(second.errors?.[0].extensions?.retryAfter).toEqual(expect.any(Number));
      // Refused, it is still an operation for the metrics (and the access log).
      const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
      expect(metrics).toMatch(
        /gateway_operations_total\{operation="anonymous",type="subscription",outcome="RATE_LIMITED"\} 1/,
      );
    });
  });

  it('counts refusals by budget in /metrics', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_OPERATIONS: '1/60' });
    await postGraphQL(gateway.url, PING);
    await postGraphQL(gateway.url, PING);
    const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
    expect(metrics).toContain('gateway_rate_limit_refusals_total{budget="operations"} 1');
    expect(metrics).toMatch(
      /gateway_operations_total\{operation="anonymous",type="query",outcome="RATE_LIMITED"\} 1/,
    );
  });

  it('keeps limiting in each process while Redis is down, and answers within the budget', async () => {
    const gateway = await gatewayWith({
      REDIS_URL: `redis://127.0.0.1:${await findFreePort()}`,
      RATE_LIMIT_OPERATIONS: '2/60',
    });
    for (let i = 0; i < 2; i++) {
      expect(await postGraphQL(gateway.url, PING)).toMatchObject({
        status: 200,
        data: { __typename: 'Query' },
      });
    }
    expectRateLimited(await postGraphQL(gateway.url, PING), 'operations');
  });
});
