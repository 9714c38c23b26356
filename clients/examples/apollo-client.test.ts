import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { findFreePort } from '../../common/util/free-port';
import { startTcpProxy, type TcpProxy } from '../../common/testing/tcp-proxy';
import { ChatClient } from '../chat-client';
import { ConversationsDocument, ConversationMessagesDocument } from '../generated/graphql';
import { askWithApolloClient } from './apollo-client';

let platform: TestPlatform;
/** Between the gateway and the chat subgraph, so a test can cut the gateway's upstream sockets. */
let chatLink: TcpProxy;
beforeAll(async () => {
  const chatPort = await findFreePort();
  chatLink = await startTcpProxy(`127.0.0.1:${chatPort}`);
  platform = await startTestPlatform('apollo-example', {
    env: { OFFLINE_TOKEN_INTERVAL_MS: '20' },
    serviceEnv: {
      chat: { CHAT_PORT: String(chatPort) },
      gateway: { CHAT_URL: `http://${chatLink.host}/graphql` },
    },
  });
});
afterAll(async () => {
  await platform?.stop();
  await chatLink?.close();
});

/** The messages of the user's only conversation, as [role, content]. */
async function savedMessages(user: TestUser) {
  const client = new ChatClient({ url: platform.gatewayUrl });
  try {
    await client.login(user.email, user.password);
    const [conversation] = (await client.request(ConversationsDocument)).me.conversations.edges;
    const { messages } = (await client.request(ConversationMessagesDocument, { id: conversation.node.id }))
      .conversation;
    return messages.edges.map((edge) => [edge.node.role, edge.node.content]);
  } finally {
    await client.close();
  }
}

test.each([
  ['GraphQLWsLink', 'websocket', 'What does Apollo Client do?'],
  ['HttpLink alone (multipart HTTP subscriptions)', 'http', 'Can HttpLink follow a subscription?'],
] as const)(
  'the Apollo Client example logs in, sends a message and streams the reply, whole and in order, over %s',
  async (_, transport, question) => {
    const user = await registerUser(platform);
    const tokens: string[] = [];

    const reply = await askWithApolloClient({
      url: platform.gatewayUrl,
      email: user.email,
      password: user.password,
      question,
      onToken: (delta) => tokens.push(delta),
      transport,
    });

    expect(tokens.length).toBeGreaterThan(1);
    expect(reply).toBe(tokens.join(''));
    expect(await savedMessages(user)).toEqual([
      ['USER', question],
      ['ASSISTANT', reply],
    ]);
  },
);

test.each(['websocket', 'http'] as const)(
  'the example resumes over %s, losing and repeating nothing, when the gateway loses its socket to the chat subgraph',
  async (transport) => {
    const user = await registerUser(platform);
    const tokens: string[] = [];
    let connectionsAtDrop = Infinity;

    const reply = await askWithApolloClient({
      url: platform.gatewayUrl,
      email: user.email,
      password: user.password,
      question: 'What happens when a socket drops?',
      // The gateway ends the stream with UPSTREAM_UNAVAILABLE, retryable.
      onToken: (delta) => {
        if (tokens.push(delta) > 1) return;
        connectionsAtDrop = chatLink.connections();
        chatLink.dropAll();
      },
      retry: { initialDelayMs: 10, maxDelayMs: 200, maxAttempts: 20 },
      transport,
    });

    // The gateway connected to the chat subgraph again, for the resumed stream.
    expect(chatLink.connections()).toBeGreaterThan(connectionsAtDrop);
    expect(reply).toBe(tokens.join(''));
    expect(await savedMessages(user)).toEqual([
      ['USER', 'What happens when a socket drops?'],
      ['ASSISTANT', reply],
    ]);
  },
);

test.each(['websocket', 'http'] as const)(
  'a send the platform refuses over %s fails with its code, and nothing is stored',
  async (transport) => {
    const user = await registerUser(platform);

    const asking = askWithApolloClient({
      url: platform.gatewayUrl,
      email: user.email,
      password: user.password,
      question: '   ',
      transport,
    });

    await expect(asking).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const client = new ChatClient({ url: platform.gatewayUrl });
    try {
      await client.login(user.email, user.password);
      expect((await client.request(ConversationsDocument)).me.conversations.edges).toEqual([]);
    } finally {
      await client.close();
    }
  },
);
