import type { IncomingMessage } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser, type TestUser } from '../common/testing/auth';
import { postGraphQL } from '../common/testing/graphql-client';
import { identityIssuer, signedHeaders } from '../common/testing/identity';
import { IDENTITY_HEADER } from '../common/identity/identity-header';
import { startTestPlatform, type TestPlatform } from './support/platform';
import type { RunningGateway } from '../gateway/app';
import { firstResultOf, startGatewayOn } from '../gateway/plugins/testing/edge-gateway';

/*
 * What one operation may cost, with the default limits: a 532-byte query nesting
 * `Message.siblings` five deep once returned 35 MB and took the conversation subgraph to 1.9 GB,
 * because a list without arguments counted as one item. Through the gateway it is refused before
 * any subgraph is asked; sent straight to the subgraph's port, the subgraph refuses it itself.
 */

const SIBLINGS_FIVE_DEEP = `query Siblings($id: ID!) {
  conversation(id: $id) {
    messages {
      edges {
        node {
          siblings { content siblings { content siblings { content siblings { content siblings { id content } } } } }
        }
      }
    }
  }
}`;

/** The same nesting as the conversation subgraph receives it from a query plan. */
const SIBLINGS_AS_ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on Message { siblings { siblings { siblings { siblings { siblings { id content } } } } } }
  }
}`;

describe('the bounds of one operation', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  let conversationId: string;
  let messageId: string;
  let gatewayRequestsToConversation = 0;

  beforeAll(async () => {
    platform = await startTestPlatform('operation-bounds');
    ada = await registerUser(platform);
    const created = await postGraphQL<{ createConversation: { id: string } }>(
      platform.gatewayUrl,
      'mutation { createConversation(title: "Siblings") { id } }',
      {},
      ada.headers,
    );
    conversationId = created.data?.createConversation.id as string;
    const sent = await postGraphQL<{ sendMessage: { userMessage: { id: string } } }>(
      platform.gatewayUrl,
      'mutation($id: ID!) { sendMessage(input: { conversationId: $id, content: "Hello" }) { userMessage { id } } }',
      { id: conversationId },
      ada.headers,
    );
    messageId = sent.data?.sendMessage.userMessage.id as string;
    // Only what the gateway asks: the chat subgraph saves the reply to the same subgraph meanwhile.
    platform.subgraphs.conversation.httpServer.on('request', (request: IncomingMessage) => {
      if (identityIssuer(request.headers[IDENTITY_HEADER]) === 'gateway') gatewayRequestsToConversation += 1;
    });
  });
  afterAll(() => platform?.stop());

  it('refuses five levels of Message.siblings at the gateway, asking no subgraph', async () => {
    const before = gatewayRequestsToConversation;
    const response = await postGraphQL(
      platform.gatewayUrl,
      SIBLINGS_FIVE_DEEP,
      { id: conversationId },
      ada.headers,
    );
    expect(response.status).toBe(400);
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'cost',
      max: 20_000,
    });
    expect(gatewayRequestsToConversation).toBe(before);
  });

  it('answers what a client really asks for: one level of siblings per message of a page', async () => {
    const before = gatewayRequestsToConversation;
    const response = await postGraphQL<{
      conversation: { messages: { edges: { node: { siblings: unknown[] } }[] } };
    }>(
      platform.gatewayUrl,
      'query($id: ID!) { conversation(id: $id) { messages(last: 50) { edges { node { id siblings { id } } } } } }',
      { id: conversationId },
      ada.headers,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.conversation.messages.edges.length).toBeGreaterThan(0);
    expect(gatewayRequestsToConversation).toBeGreaterThan(before);
  });

  it('refuses the same nesting sent straight to the conversation subgraph, with a valid identity', async () => {
    const response = await postGraphQL(
      platform.subgraphs.conversation.url,
      SIBLINGS_AS_ENTITIES,
      { r: [{ __typename: 'Message', id: messageId }] },
      signedHeaders(ada.id, {
        audience: 'conversation',
        query: SIBLINGS_AS_ENTITIES,
        variables: { r: [{ __typename: 'Message', id: messageId }] },
      }),
    );
    expect(response.status).toBe(400);
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'cost',
    });
  });

  it.each([
    [
      'depth',
      `{ _entities(representations: []) { ... on Message { ${'parent { '.repeat(20)}id${' }'.repeat(20)} } } }`,
    ],
    ['aliases', `{ ${Array.from({ length: 70 }, (_, i) => `a${i}: __typename`).join(' ')} }`],
  ])('refuses %s past the gateway’s at the subgraph too', async (limit, query) => {
    const response = await postGraphQL(
      platform.subgraphs.conversation.url,
      query,
      {},
      signedHeaders(ada.id, { audience: 'conversation', query, variables: {} }),
    );
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit });
  });

  it('refuses a document with more tokens than a plan could have at the subgraph', async () => {
    const query = `{ ${Array.from({ length: 20_000 }, () => '__typename').join(' ')} }`;
    const response = await postGraphQL(
      platform.subgraphs.conversation.url,
      query,
      {},
      signedHeaders(ada.id, { audience: 'conversation', query, variables: {} }),
    );
    expect(response.status).toBe(400);
    expect(response.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  describe('the response size', () => {
    let small: RunningGateway;
    beforeAll(async () => {
      small = await startGatewayOn(platform, { MAX_RESPONSE_BYTES: '4096' });
    });
    afterAll(() => small?.stop());

    it('is capped at the gateway: a larger answer is a coded refusal, not the answer', async () => {
      const response = await postGraphQL(small.url, '{ __schema { types { name fields { name } } } }');
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors).toEqual([
        {
          message: expect.any(String),
          extensions: {
            code: 'BAD_REQUEST',
            limit: 'responseSize',
            max: 4096,
            requestId: expect.any(String),
          },
        },
      ]);
      expect((await postGraphQL(small.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    });

    it('is capped for each subscription event too, which does not pass through Apollo', async () => {
      const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
        small.url,
        'mutation($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
        { content: 'x'.repeat(5000) },
        ada.headers,
      );
      const id = sent.data?.sendMessage.generation.id as string;
      const client = createClient({
        url: small.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: ada.headers.authorization },
      });
      try {
        // Each event carries the 5000-character message the reply answers.
        const event = await firstResultOf(
          client,
          `subscription { generation(id: "${id}") { type message { parent { content } } } }`,
        );
        expect(event).toEqual({
          errors: [
            {
              message: expect.any(String),
              extensions: {
                code: 'BAD_REQUEST',
                limit: 'responseSize',
                max: 4096,
                requestId: expect.any(String),
              },
            },
          ],
        });
      } finally {
        await client.dispose();
      }
    });
  });
});
