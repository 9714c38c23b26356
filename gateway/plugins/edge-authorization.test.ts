import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { errorCodes, postGraphQL } from '../../common/testing/graphql-client';
import { registerUser } from '../../common/testing/auth';
import { startTcpProxy, type TcpProxy } from '../../common/testing/tcp-proxy';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { SupergraphPlanner } from '../subscriptions/planner';
import { firstResultOf, startGatewayOn, webSocketClient } from './testing/edge-gateway';
import { probeOperation, rootFields, subgraphFieldsOf } from './testing/root-fields';

const CONVERSATIONS = '{ me { conversations { edges { node { id } } } } }';

/**
 * The root fields meant for anonymous callers. Every other root field of the supergraph must carry
 * `@authenticated` or `@requiresScopes`: a new field is private unless it is added here.
 */
const PUBLIC_ROOT_FIELDS = [
  'Query.models',
  'Mutation.register',
  'Mutation.login',
  'Mutation.refreshToken',
  'Mutation.requestPasswordReset',
  'Mutation.resetPassword',
];

const SUPERGRAPH_SDL = readFileSync(join(projectRoot(), 'schema/supergraph.graphql'), 'utf8');
const supergraph = new SupergraphPlanner(SUPERGRAPH_SDL);
const privateRootFields = rootFields(supergraph).filter((field) => !PUBLIC_ROOT_FIELDS.includes(field.name));

describe('authorization at the edge', () => {
  let platform: TestPlatform;
  let gateway: RunningGateway;
  let conversation: TcpProxy;
  let auth: TcpProxy;
  let chat: TcpProxy;

  beforeAll(async () => {
    platform = await startTestPlatform('edge-authorization');
    // The gateway reaches every subgraph only through these, which count what they are sent.
    conversation = await startTcpProxy(new URL(platform.subgraphs.conversation.url).host);
    auth = await startTcpProxy(new URL(platform.subgraphs.auth.url).host);
    chat = await startTcpProxy(new URL(platform.subgraphs.chat.url).host);
    gateway = await startGatewayOn(platform, {
      CONVERSATION_URL: `http://${conversation.host}/graphql`,
      AUTH_URL: `http://${auth.host}/graphql`,
      CHAT_URL: `http://${chat.host}/graphql`,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await conversation?.close();
    await auth?.close();
    await chat?.close();
    await platform?.stop();
  });

  /**
   * Bytes each subgraph has been sent so far (the gateway's health checks send some at start): a
   * request on a kept-alive connection counts, where counting connections would miss it.
   */
  const asked = () => ({ conversation: conversation.bytesIn(), auth: auth.bytesIn(), chat: chat.bytesIn() });

  it("refuses an anonymous caller's request for private data before any subgraph is asked", async () => {
    const before = asked();
    const response = await postGraphQL(gateway.url, CONVERSATIONS);
    expect(response.status).toBe(401);
    expect(response.data).toBeUndefined();
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.errors?.[0].extensions?.refusedFields).toEqual(['me']);
    expect(asked()).toEqual(before);
  });

  /** The codes an anonymous graphql-ws client's operation is first answered with. */
  const codesOverWebSocket = async (query: string) => {
    const client = webSocketClient(gateway);
    try {
      return (await firstResultOf(client, query)).errors?.map((error) => error.extensions?.code);
    } finally {
      await client.dispose();
    }
  };

  it('refuses over graphql-ws too, before any subgraph is asked', async () => {
    const before = asked();
    expect(await codesOverWebSocket(CONVERSATIONS)).toEqual(['UNAUTHENTICATED']);
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
    expect(conversation.bytesIn()).toBeGreaterThan(beforeAllowed.conversation);

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

  it('knows every root field as private or listed as public', () => {
    const names = rootFields(supergraph).map((field) => field.name);
    expect(names.filter((name) => PUBLIC_ROOT_FIELDS.includes(name)).sort()).toEqual(
      [...PUBLIC_ROOT_FIELDS].sort(),
    );
    const unguarded = privateRootFields.filter((field) => !field.requirement).map((field) => field.name);
    expect(unguarded).toEqual([]);
  });

  it('guards every field another subgraph adds to the user with @authenticated', () => {
    const added = subgraphFieldsOf(SUPERGRAPH_SDL, 'User').filter((field) => field.subgraph !== 'auth');
    expect(added.length).toBeGreaterThan(0);
    expect(added.filter((field) => !field.requirement).map((field) => field.name)).toEqual([]);
  });

  it.each(privateRootFields.map((field) => [field.name, field] as const))(
    'refuses an anonymous %s at the gateway; no subgraph is asked',
    async (_name, field) => {
      const before = asked();
      const operation = probeOperation(supergraph.schema, field);
      if (field.operation === 'subscription') {
        expect(await codesOverWebSocket(operation)).toEqual(['UNAUTHENTICATED']);
      } else {
        const response = await postGraphQL(gateway.url, operation);
        expect(response.status).toBe(401);
        expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
        expect(response.errors?.[0].extensions?.refusedFields).toEqual([field.field]);
      }
      expect(asked()).toEqual(before);
    },
  );
});
