import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { postGraphQL } from '../../common/testing/graphql-client';
import { isHeartbeat, multipartPartsOf } from '../../common/testing/multipart';
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
    // Heartbeats as often as allowed: a reply of a few dozen tokens, 20 ms apart, has some mid-stream.
    env: { OFFLINE_TOKEN_INTERVAL_MS: '20', MULTIPART_HEARTBEAT_MS: '100' },
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
  'the example resumes over %s on another gateway when its own shuts down (graphql-ws close 1012, or the retryable last part of a multipart stream), losing and repeating nothing',
  async (transport) => {
    const user = await registerUser(platform);
    const leaving = await platform.addGateway();
    // The load balancer in front: new connections go to the other gateway once this one is leaving.
    const front = await startTcpProxy(new URL(leaving.url).host);
    const tokens: string[] = [];
    let stopped: Promise<void> | undefined;
    let connectionsAtStop = Infinity;
    try {
      const reply = await askWithApolloClient({
        url: `http://${front.host}/graphql`,
        email: user.email,
        password: user.password,
        question: 'What happens when a gateway restarts?',
        onToken: (delta) => {
          if (tokens.push(delta) > 1) return;
          front.retarget(new URL(platform.gatewayUrl).host);
          connectionsAtStop = front.connections();
          stopped = leaving.stop();
        },
        retry: { initialDelayMs: 10, maxDelayMs: 200, maxAttempts: 20 },
        transport,
      });

      await stopped;
      // The rest of the reply came over a new connection, to the other gateway.
      expect(front.connections()).toBeGreaterThan(connectionsAtStop);
      expect(tokens.length).toBeGreaterThan(2);
      expect(reply).toBe(tokens.join(''));
      expect(await savedMessages(user)).toEqual([
        ['USER', 'What happens when a gateway restarts?'],
        ['ASSISTANT', reply],
      ]);
    } finally {
      await front.close();
    }
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

interface FollowedEvent {
  seq: number;
  type: string;
  delta: string | null;
  message: { id: string; conversation: { id: string; owner: { id: string; displayName: string } } };
}

/** A generation's events with its conversation's owner: the chat subgraph's events, the conversation's and auth's fields. */
const FOLLOW_ACROSS_SUBGRAPHS = gql`
  subscription FollowAcrossSubgraphs($id: ID!) {
    generation(id: $id) {
      seq
      type
      delta
      message {
        id
        conversation {
          id
          owner {
            id
            displayName
          }
        }
      }
    }
  }
`;

/** fetch, keeping a copy of each response's raw body for the test to read the wire. */
function recordingFetch() {
  const bodies: Promise<string>[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    const [forClient, forTest] = response.body.tee();
    bodies.push(new Response(forTest).text());
    return new Response(forClient, { status: response.status, headers: response.headers });
  };
  return { fetch: recording, bodies: () => Promise.all(bodies) };
}

test('HttpLink alone streams a subscription with fields of other subgraphs, every token in order, through heartbeats', async () => {
  const user = await registerUser(platform, { displayName: 'Grace' });
  const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
    platform.gatewayUrl,
    'mutation Send($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
    { content: 'Whose conversation is this?' },
    user.headers,
  );
  const generationId = sent.data?.sendMessage.generation.id;
  const wire = recordingFetch();
  const client = new ApolloClient({
    link: new HttpLink({ uri: platform.gatewayUrl, headers: user.headers, fetch: wire.fetch }),
    cache: new InMemoryCache(),
  });

  const events: FollowedEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client
        .subscribe<{ generation: FollowedEvent }>({
          query: FOLLOW_ACROSS_SUBGRAPHS,
          variables: { id: generationId },
          fetchPolicy: 'no-cache',
        })
        .subscribe({
          next: ({ data, error }) => (error ? reject(error) : data && events.push(data.generation)),
          error: reject,
          complete: resolve,
        });
    });
  } finally {
    client.stop();
  }

  const streamed = events.filter((event) => event.type !== 'HEARTBEAT');
  expect(streamed.map((event) => event.seq)).toEqual(streamed.map((_, i) => i + 1));
  expect(streamed[0].type).toBe('START');
  expect(streamed[streamed.length - 1].type).toBe('DONE');
  for (const event of streamed)
    expect(event.message.conversation.owner).toMatchObject({ id: user.id, displayName: 'Grace' });
  const reply = streamed.map((event) => event.delta ?? '').join('');
  expect(await savedMessages(user)).toEqual([
    ['USER', 'Whose conversation is this?'],
    ['ASSISTANT', reply],
  ]);

  // HttpLink read heartbeats between the events and passed none of them on as an event.
  const [body] = await wire.bodies();
  const { parts, closed } = multipartPartsOf(body);
  expect(closed).toBe(true);
  const payloads = parts.flatMap((part, i) => (part.json.payload ? [i] : []));
  const heartbeatsMidStream = parts.filter(
    (part, i) => isHeartbeat(part) && i > payloads[0] && i < payloads[payloads.length - 1],
  );
  expect(heartbeatsMidStream.length).toBeGreaterThan(0);
  expect(payloads).toHaveLength(events.length);
});
