import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { registerUser } from '../../common/testing/auth';
import { startTcpProxy, type TcpProxy } from '../../common/testing/tcp-proxy';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { firstResultOf, startGatewayOn, webSocketClient } from './testing/edge-gateway';

const CONVERSATIONS = '{ me { conversations { edges { node { id } } } } }';

describe('authorization at the edge', () => {
  let platform: TestPlatform;
  let gateway: RunningGateway;
  let conversation: TcpProxy;
  let auth: TcpProxy;

  beforeAll(async () => {
    platform = await startTestPlatform('edge-authorization');
    // The gateway reaches the auth and conversation subgraphs only through these, which count connections.
    conversation = await startTcpProxy(new URL(platform.subgraphs.conversation.url).host);
    auth = await startTcpProxy(new URL(platform.subgraphs.auth.url).host);
    gateway = await startGatewayOn(platform, {
      CONVERSATION_URL: `http://${conversation.host}/graphql`,
      AUTH_URL: `http://${auth.host}/graphql`,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await conversation?.close();
    await auth?.close();
    await platform?.stop();
  });

  /** Connections the subgraphs have had so far (the gateway's health checks open some at start). */
  const asked = () => ({ conversation: conversation.connections(), auth: auth.connections() });

  it("refuses an anonymous caller's request for private data before any subgraph is asked", async () => {
    const before = asked();
    const response = await postGraphQL(gateway.url, CONVERSATIONS);
    expect(response.status).toBe(401);
    expect(response.data).toBeUndefined();
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.errors?.[0].extensions?.refusedFields).toEqual(['me']);
    expect(asked()).toEqual(before);
  });

  it('refuses over graphql-ws too, before any subgraph is asked', async () => {
    const before = asked();
    const client = webSocketClient(gateway);
    try {
      const result = await firstResultOf(client, CONVERSATIONS);
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    } finally {
      await client.dispose();
    }
    expect(asked()).toEqual(before);
  });

  it('follows fragments and aliases, naming the path of each refused field', async () => {
    const response = await postGraphQL(
      gateway.url,
      '{ open: __typename ...F } fragment F on Query { mine: me { id } sessions { id } }',
    );
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.errors?.[0].extensions?.refusedFields).toEqual(['mine', 'sessions']);
  });

  it("lets a signed-in user through, and refuses a USER's request for an ADMIN field with FORBIDDEN", async () => {
    const user = await registerUser({ gatewayUrl: gateway.url });
    const beforeAllowed = asked();
    const allowed = await postGraphQL(gateway.url, CONVERSATIONS, {}, user.headers);
    expect(allowed.errors).toBeUndefined();
    expect(conversation.connections()).toBeGreaterThan(beforeAllowed.conversation);

    const before = asked();
    const refused = await postGraphQL(gateway.url, '{ users { edges { node { id } } } }', {}, user.headers);
    expect(refused.status).toBe(403);
    expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors?.[0].extensions?.refusedFields).toEqual(['users']);
    expect(asked()).toEqual(before);
  });

  it('leaves public fields open to anyone', async () => {
    const response = await postGraphQL(gateway.url, '{ __typename }');
    expect(response.errors).toBeUndefined();
  });
});
