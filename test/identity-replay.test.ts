import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  IDENTITY_CLOCK_SKEW_MS,
  IDENTITY_HEADER,
  IDENTITY_LIFETIME_MS,
  operationDigest,
  signIdentity,
} from '../common/identity/identity';
import type { RunningSubgraph } from '../common/server/subgraph-server';
import { registerUser, type TestUser } from '../common/testing/auth';
import { TEST_IDENTITY_SECRET } from '../common/testing/env';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { testIdentity } from '../common/testing/identity';
import { silentLogger } from '../common/testing/logger';
import { startTestPlatform, type TestPlatform } from './support/platform';
import { findFreePort } from '../common/util/free-port';
import { startConversationSubgraph } from '../subgraphs/conversation/app';
import { loadConversationConfig } from '../subgraphs/conversation/config';
import { type Harness, startConversationHarness } from '../subgraphs/conversation/testing/harness';

/*
 * An attacker on the internal network captures what the gateway sends the conversation subgraph
 * (a relay records it here) and replays it straight to the subgraph's port, outside the gateway's
 * rate limits: as it was, against another replica, against another subgraph, with another body,
 * and too late. Every replay is refused; the gateway's own requests keep working.
 */

interface Captured {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP relay in front of `target` that records every request it forwards. */
async function startRecordingRelay(
  target: () => string,
): Promise<{ url: string; captured: Captured[]; server: Server }> {
  const captured: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      captured.push({ headers: req.headers, body });
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([name]) => !['host', 'connection', 'content-length'].includes(name),
        ),
      ) as Record<string, string>;
      const answer = await fetch(target(), { method: req.method, headers, body });
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, captured, server };
}

const CREATE = 'mutation Create($title: String) { createConversation(title: $title) { id title } }';

describe('a captured identity header', () => {
  let platform: TestPlatform;
  let relay: Awaited<ReturnType<typeof startRecordingRelay>>;
  let replica: RunningSubgraph;
  let user: TestUser;
  let capture: Captured;

  beforeAll(async () => {
    let conversationUrl = '';
    relay = await startRecordingRelay(() => conversationUrl);
    // The gateway reaches the conversation subgraph through the relay; chat (a service call) directly.
    platform = await startTestPlatform('identity-replay', { gatewayEnv: { CONVERSATION_URL: relay.url } });
    conversationUrl = platform.subgraphs.conversation.url;
    // A second replica of the conversation subgraph: same database, same Redis and prefix.
    replica = await startConversationSubgraph(
      loadConversationConfig({
        ...platform.env,
        REDIS_KEY_PREFIX: `${platform.namespace}:conversation:`,
        SEARCH_INDEXER_ENABLED: 'false',
      }),
      silentLogger(),
    );
    user = await registerUser(platform);
    const created = await postGraphQL(platform.gatewayUrl, CREATE, { title: 'Mine' }, user.headers);
    expect(created.errors).toBeUndefined();
    const sent = relay.captured.find((request) => request.body.includes('createConversation'));
    if (!sent) throw new Error('the relay saw no createConversation');
    capture = sent;
  });
  afterAll(async () => {
    await replica?.stop();
    await platform?.stop();
    await new Promise((resolve) => relay?.server.close(resolve));
  });

  const replay = (url: string, body: string, header = capture.headers[IDENTITY_HEADER] as string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: header },
      body,
    });
  const codesOf = async (response: Response) => ({
    status: response.status,
    codes: ((await response.json()) as { errors?: { extensions: { code: string } }[] }).errors?.map(
      (error) => error.extensions.code,
    ),
  });
  const conversationCount = async () => {
    const response = await postGraphQL<{ me: { conversations: { edges: unknown[] } } }>(
      platform.gatewayUrl,
      '{ me { conversations(first: 50) { edges { node { id } } } } }',
      {},
      user.headers,
    );
    return response.data?.me.conversations.edges.length;
  };

  it('is refused when replayed as it was, to the subgraph that accepted it', async () => {
    expect(await codesOf(await replay(platform.subgraphs.conversation.url, capture.body))).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
    expect(await conversationCount()).toBe(1);
  });

  it('is refused by another replica of that subgraph: the nonce is shared through Redis', async () => {
    expect(await codesOf(await replay(replica.url, capture.body))).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
  });

  it('is refused by another subgraph, even with a body that subgraph would run', async () => {
    const models = JSON.stringify({ query: '{ models { id } }' });
    expect(await codesOf(await replay(platform.subgraphs.chat.url, models))).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
  });

  it('is refused with another operation or other variables, even before its own request used it', async () => {
    // A fresh header for createConversation, intercepted before the gateway's request arrives.
    const body = JSON.parse(capture.body) as { query: string; variables: Record<string, unknown> };
    const identity = testIdentity(user.id);
    const fresh = () =>
      signIdentity(identity, TEST_IDENTITY_SECRET, {
        audience: 'conversation',
        digest: operationDigest(body),
      });
    const otherVariables = JSON.stringify({ ...body, variables: { title: 'Squatted' } });
    expect(
      await codesOf(await replay(platform.subgraphs.conversation.url, otherVariables, fresh())),
    ).toMatchObject({
      status: 401,
    });
    const otherOperation = JSON.stringify({ query: 'mutation { deleteConversation(id: "x") }' });
    expect(
      await codesOf(await replay(platform.subgraphs.conversation.url, otherOperation, fresh())),
    ).toMatchObject({
      status: 401,
    });
    // The same header with the body it was signed for is accepted, once.
    const header = fresh();
    expect((await replay(platform.subgraphs.conversation.url, capture.body, header)).status).toBe(200);
    expect((await replay(platform.subgraphs.conversation.url, capture.body, header)).status).toBe(401);
  });

  it('is refused once past its lifetime', async () => {
    const body = JSON.parse(capture.body) as { query: string; variables: Record<string, unknown> };
    const signedAt = Date.now() - IDENTITY_LIFETIME_MS - IDENTITY_CLOCK_SKEW_MS - 1_000;
    const expired = signIdentity(
      testIdentity(user.id),
      TEST_IDENTITY_SECRET,
      { audience: 'conversation', digest: operationDigest(body) },
      signedAt,
    );
    expect(await codesOf(await replay(platform.subgraphs.conversation.url, capture.body, expired))).toEqual({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
  });

  it('leaves the gateway’s own requests working: queries, entity fetches and chat’s service calls', async () => {
    const response = await postGraphQL<{ sendMessage: { conversation: { title: string } } }>(
      platform.gatewayUrl,
      `mutation { sendMessage(input: { content: "Hello" }) {
        conversation { id title } userMessage { content } generation { id status }
      } }`,
      {},
      user.headers,
    );
    expect(response.errors).toBeUndefined();
    expect(
      errorCodes(
        await postGraphQL(
          platform.gatewayUrl,
          '{ me { id conversations(first: 5) { edges { node { id } } } } }',
          {},
          user.headers,
        ),
      ),
    ).toEqual([]);
  });
});

describe('a subgraph whose Redis is down', () => {
  let harness: Harness;
  beforeAll(async () => {
    // Nothing listens there: every nonce claim fails at once, while PostgreSQL answers.
    harness = await startConversationHarness('identity-redis-down', {
      route: 'subgraph',
      env: { REDIS_URL: `redis://127.0.0.1:${await findFreePort()}`, SEARCH_INDEXER_ENABLED: 'false' },
    });
  });
  afterAll(() => harness?.stop());

  it('refuses every signed request with a retryable UPSTREAM_UNAVAILABLE, never serves it unchecked', async () => {
    const user = await harness.newUser();
    const response = await user.request('mutation { createConversation(title: "x") { id } }');
    expect(response.status).toBe(503);
    expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
  });
});
