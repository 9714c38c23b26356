import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { findFreePort } from '../../common/util/free-port';
import { type ChatChild, startChatChild } from '../../subgraphs/chat/testing/child-process';
import { callAs } from '../../subgraphs/chat/testing/subgraph-client';
import { ConversationMessagesDocument } from '../generated/graphql';
import { ChatClient, type GenerationEvent } from './chat-client';

/**
 * Issue 12, item 5: the typed client behind a gateway whose chat subgraph is a real process that
 * is killed (SIGKILL) mid-reply and started again on the same port. The in-process chat subgraph
 * of the test platform is a second replica on the same Redis, which the gateway does not reach.
 */

let platform: TestPlatform;
let childEnv: Record<string, string>;
let child: ChatChild | undefined;
const clients: ChatClient[] = [];

beforeAll(async () => {
  const chatPort = await findFreePort();
  platform = await startTestPlatform('client-replica-restart', {
    env: {
      // Replies of many short steps, so the process can die in the middle of one; a short lease,
      // so that a replica takes over a reply whose process died within seconds.
      OFFLINE_TOKEN_INTERVAL_MS: '40',
      GENERATION_LEASE_MS: '3000',
      RECOVERY_INTERVAL_MS: '500',
    },
    serviceEnv: { gateway: { CHAT_URL: `http://127.0.0.1:${chatPort}/graphql` } },
  });
  childEnv = {
    ...platform.env,
    CHAT_PORT: String(chatPort),
    CONVERSATION_URL: platform.subgraphs.conversation.url,
    REDIS_KEY_PREFIX: `${platform.namespace}:chat:`,
  };
  child = await startChatChild(childEnv);
}, 60_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await child?.crash();
  await platform?.stop();
});

async function signedInClient(user: TestUser): Promise<ChatClient> {
  // Quick retries, and enough of them to outlast a process start on a busy machine.
  const client = new ChatClient({
    url: platform.gatewayUrl,
    retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 200 },
  });
  clients.push(client);
  await client.login(user.email, user.password);
  return client;
}

/** Kills the chat process the gateway talks to, as a crash would, and starts another on its port. */
async function restartChatProcess(): Promise<void> {
  await child?.crash();
  child = await startChatChild(childEnv);
}

/** Reads every event; at the first TOKEN, restarts the chat process (without waiting for it). */
async function followThroughRestart(events: AsyncIterable<GenerationEvent>) {
  const seen: GenerationEvent[] = [];
  let restarted: Promise<void> | undefined;
  for await (const event of events) {
    seen.push(event);
    if (event.type === 'TOKEN') restarted ??= restartChatProcess();
  }
  await restarted;
  return { events: seen, restarted: restarted !== undefined };
}

const textOf = (events: GenerationEvent[]) => events.map((event) => event.delta ?? '').join('');

async function savedReply(client: ChatClient, conversationId: string, messageId: string) {
  const { conversation } = await client.request(ConversationMessagesDocument, { id: conversationId });
  return conversation.messages.edges.map((edge) => edge.node).find((message) => message.id === messageId);
}

test('a reply running on another replica: the whole reply, once and in order, to DONE, across the restart', async () => {
  const user = await registerUser(platform);
  const client = await signedInClient(user);
  // Started on the platform's in-process replica, followed through the gateway's chat process.
  const started = await callAs<{
    sendMessage: { conversation: { id: string }; generation: { id: string; message: { id: string } } };
  }>(
    platform.subgraphs.chat.url,
    user.id,
    `mutation Send($input: SendMessageInput!) {
      sendMessage(input: $input) { conversation { id } generation { id message { id } } }
    }`,
    { input: { content: 'Tell me, at some length, how replicas share a reply' } },
  );
  const { conversation, generation } = started.data?.sendMessage ?? {};
  if (!conversation || !generation) throw new Error(`sendMessage failed: ${JSON.stringify(started.errors)}`);

  const { events, restarted } = await followThroughRestart(client.followGeneration(generation.id));

  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.at(-1)?.type).toBe('DONE');
  expect(restarted).toBe(true);
  const saved = await savedReply(client, conversation.id, generation.message.id);
  expect(saved).toMatchObject({ status: 'COMPLETE', content: textOf(events) });
}, 90_000);

test('streamChat whose own process dies mid-reply: every event once and in order, to the end the platform gives it', async () => {
  const user = await registerUser(platform);
  const client = await signedInClient(user);

  const stream = client.streamChat({ content: 'Explain, at some length, what happens when a process dies' });
  const { events, restarted } = await followThroughRestart(stream);
  const sent = await stream.sent;

  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(restarted).toBe(true);
  // The reply's process died: a replica settles it, and the stream ends with its terminal event.
  expect(['DONE', 'ERROR']).toContain(events.at(-1)?.type);
  const saved = await savedReply(client, sent.conversation.id, events[0].message.id);
  expect(saved?.content).toBe(textOf(events));
}, 90_000);
