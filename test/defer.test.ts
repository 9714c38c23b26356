import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { registerUser, type TestUser } from '../common/testing/auth';
import { postGraphQL } from '../common/testing/graphql-client';
import { startTcpProxy, type TcpProxy } from '../common/testing/tcp-proxy';
import type { RunningGateway } from '../gateway/app';
import { startGatewayOn } from '../gateway/plugins/testing/edge-gateway';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** Why `@defer` is refused, and that it is refused clearly: docs/gateway.md#incremental-delivery-defer. */

const installed = (path: string) => readFileSync(join(projectRoot(), 'node_modules', path), 'utf8');

describe('@defer', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  let gateway: RunningGateway;
  let proxies: Record<'auth' | 'conversation' | 'chat', TcpProxy>;
  beforeAll(async () => {
    platform = await startTestPlatform('defer');
    ada = await registerUser(platform);
    // The gateway reaches every subgraph only through these, which count the bytes they are sent.
    const proxied = async (name: keyof TestPlatform['subgraphs']) =>
      [name, await startTcpProxy(new URL(platform.subgraphs[name].url).host)] as const;
    proxies = Object.fromEntries(
      await Promise.all((['auth', 'conversation', 'chat'] as const).map(proxied)),
    ) as typeof proxies;
    gateway = await startGatewayOn(platform, {
      AUTH_URL: `http://${proxies.auth.host}/graphql`,
      CONVERSATION_URL: `http://${proxies.conversation.host}/graphql`,
      CHAT_URL: `http://${proxies.chat.host}/graphql`,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(Object.values(proxies ?? {}).map((proxy) => proxy.close()));
    await platform?.stop();
  });

  /** Bytes each subgraph has been sent so far: a request on a kept-alive connection counts too. */
  const asked = () => ({
    auth: proxies.auth.bytesIn(),
    conversation: proxies.conversation.bytesIn(),
    chat: proxies.chat.bytesIn(),
  });

  it('is refused with a coded 400 before planning, whatever the client accepts, and no subgraph is asked', async () => {
    // The same query without @defer reaches the auth subgraph: what is counted below is not idle.
    const before = asked();
    expect((await postGraphQL(gateway.url, '{ me { id displayName } }', {}, ada.headers)).data).toBeTruthy();
    expect(asked().auth).toBeGreaterThan(before.auth);

    const beforeDeferred = asked();
    for (const accept of ['application/json', 'multipart/mixed;deferSpec=20220824, application/json']) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, ...ada.headers },
        body: JSON.stringify({ query: '{ me { id ... @defer { displayName } } }' }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    expect(asked()).toEqual(beforeDeferred);
  });

  it('cannot be served by the installed gateway and server (re-check the docs when this fails)', () => {
    expect(installed('@apollo/gateway/dist/executeQueryPlan.js')).toContain(
      '@defer support is not available in the gateway',
    );
    expect(installed('@apollo/server/dist/cjs/incrementalDeliveryPolyfill.js')).toContain("'17.0.0-alpha.9'");
    expect((JSON.parse(installed('graphql/package.json')) as { version: string }).version).toMatch(/^16\./);
  });
});
