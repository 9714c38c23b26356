import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import type { RunningSubgraph } from '../../../common/server/subgraph-server';
import { errorCodes } from '../../../common/testing/graphql-client';
import { silentLogger } from '../../../common/testing/logger';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { startChatSubgraph } from '../app';
import { loadChatConfig } from '../config';
import { INTERRUPTED_MESSAGE } from '../jobs/generation-recovery';
import { type ChatChild, startChatChild } from '../testing/child-process';
import { callAs, openSocket, subscribeAs, type TestSubscription } from '../testing/subgraph-client';
import { eventually } from '../../../common/testing/wait';

/*
 * The chat subgraph with the real conversation subgraph (PostgreSQL), real Redis, and several
 * chat processes on one Redis namespace, called directly as the gateway would: HTTP with the
 * signed identity header, graphql-ws with the identity in each subscribe message.
 */

interface Event {
  seq: number;
  type: string;
  delta: string | null;
  error: string | null;
  generation: {
    id: string;
    status: string;
    usage: { promptTokens: number; completionTokens: number } | null;
  };
  message: { id: string };
}
interface Started {
  conversation: { id: string };
  userMessage: { id: string };
  generation: { id: string; status: string; model: string; message: { id: string } };
}
interface StoredMessage {
  id: string;
  role: string;
  content: string;
  status: string;
  parent: { id: string } | null;
  siblings: { id: string }[];
}

const EVENT =
  'seq type delta error generation { id status usage { promptTokens completionTokens } } message { id }';
const STARTED = 'conversation { id } userMessage { id } generation { id status model message { id } }';
const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { ${STARTED} } }`;
const EDIT = `mutation Edit($id: ID!, $content: String!) {
  editMessage(messageId: $id, content: $content) { ${STARTED} }
}`;
const FOLLOW = `subscription Follow($id: ID!, $after: Int!) { generation(id: $id, after: $after) { ${EVENT} } }`;

const textOf = (events: Event[]) => events.map((event) => event.delta ?? '').join('');
const typesOf = (events: Event[]) => events.map((event) => event.type);

describe('the chat subgraph with the conversation subgraph and several replicas', () => {
  let platform: TestPlatform;
  let chat: RunningSubgraph;
  let conversationUrl: string;
  const replicas: RunningSubgraph[] = [];
  const children: ChatChild[] = [];
  const sockets: Client[] = [];

  const replicaEnv = (env: Record<string, string> = {}) => ({
    ...platform.env,
    REDIS_KEY_PREFIX: `${platform.namespace}:chat:`,
    CONVERSATION_URL: conversationUrl,
    ...env,
  });
  /** Another chat process on the same Redis namespace: a replica behind the gateway. */
  const startReplica = async (env: Record<string, string> = {}) => {
    const replica = await startChatSubgraph(loadChatConfig(replicaEnv(env)), silentLogger());
    replicas.push(replica);
    return replica;
  };
  const socket = (url: string) => {
    const client = openSocket(url);
    sockets.push(client);
    return client;
  };
  const send = async (url: string, userId: string, input: Record<string, unknown>) => {
    const response = await callAs<{ sendMessage: Started }>(url, userId, SEND, { input });
    expect(response.errors).toBeUndefined();
    return (response.data as { sendMessage: Started }).sendMessage;
  };
  const edit = async (userId: string, messageId: string, content: string) => {
    const response = await callAs<{ editMessage: Started }>(chat.url, userId, EDIT, {
      id: messageId,
      content,
    });
    expect(response.errors).toBeUndefined();
    return (response.data as { editMessage: Started }).editMessage;
  };
  const follow = (url: string, userId: string, id: string, after = 0) =>
    subscribeAs<{ generation: Event }>(socket(url), userId, FOLLOW, { id, after });
  /** The reply's events: HEARTBEATs (sent whenever it is quiet for a while) are not part of it. */
  const eventsOf = (subscription: TestSubscription<{ generation: Event }>) =>
    subscription
      .data()
      .map((data) => data.generation)
      .filter((event) => event.type !== 'HEARTBEAT');
  /** The whole generation, replayed from its stream. */
  const replay = async (userId: string, id: string) => {
    const subscription = follow(chat.url, userId, id);
    await subscription.ended;
    return eventsOf(subscription);
  };
  const storedMessage = async (userId: string, id: string): Promise<StoredMessage> => {
    const response = await callAs<{ _entities: StoredMessage[] }>(
      conversationUrl,
      userId,
      `query Message($reps: [_Any!]!) {
        _entities(representations: $reps) { ... on Message { id role content status parent { id } siblings { id } } }
      }`,
      { reps: [{ __typename: 'Message', id }] },
      'conversation',
    );
    expect(response.errors).toBeUndefined();
    return (response.data as { _entities: StoredMessage[] })._entities[0];
  };

  beforeAll(async () => {
    platform = await startTestPlatform('chat', {
      env: {
        OFFLINE_TOKEN_INTERVAL_MS: '2',
        CHECKPOINT_INTERVAL_MS: '100',
        GENERATION_LEASE_MS: '1000',
        RECOVERY_INTERVAL_MS: '60000',
        SHUTDOWN_GRACE_MS: '2000',
      },
    });
    chat = platform.subgraphs.chat;
    conversationUrl = platform.subgraphs.conversation.url;
  });
  afterAll(async () => {
    for (const client of sockets) await client.dispose();
    for (const child of children) await child.crash();
    for (const replica of replicas) await replica.stop();
    await platform?.stop();
  });

  it('sends, streams every token in order over graphql-ws, and saves the reply in the conversation', async () => {
    const user = randomUUID();
    const started = await send(chat.url, user, { content: 'What is a good name for a cat?' });
    expect(started.generation).toMatchObject({
      status: 'STREAMING',
      model: 'offline/echo',
    });
    const subscription = follow(chat.url, user, started.generation.id);
    await subscription.ended;
    expect(subscription.error()).toBeUndefined();
    const events = eventsOf(subscription);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(typesOf(events)[0]).toBe('START');
    expect(typesOf(events).slice(-2)).toEqual(['USAGE', 'DONE']);
    expect(events[events.length - 1].generation).toMatchObject({
      status: 'COMPLETE',
      usage: { completionTokens: expect.any(Number) },
    });
    expect(new Set(events.map((event) => event.message.id))).toEqual(
      new Set([started.generation.message.id]),
    );

    const saved = await storedMessage(user, started.generation.message.id);
    expect(saved).toMatchObject({
      role: 'ASSISTANT',
      status: 'COMPLETE',
      content: textOf(events),
      parent: { id: started.userMessage.id },
    });
    expect(saved.content).toContain('not a language model');
  });

  it('titles a new conversation after its first exchange', async () => {
    const user = randomUUID();
    const started = await send(chat.url, user, { content: 'Planning a weekend in Lisbon with kids. Ideas?' });
    await replay(user, started.generation.id);
    await eventually(async () => {
      const response = await callAs<{ conversation: { title: string } }>(
        conversationUrl,
        user,
        'query C($id: ID!) { conversation(id: $id) { title } }',
        { id: started.conversation.id },
        'conversation',
      );
      expect(response.data?.conversation.title).toBe('Planning a weekend in Lisbon with…');
    });
  });

  it('sends and streams in one operation with Subscription.chat, reading nothing of the new generation back from Redis', async () => {
    const user = randomUUID();
    // Every command clients send Redis meanwhile (not those its scripts run): the process that starts
    // the reply streams it to its own subscriber from memory, so neither the record nor the events
    // are read to follow it, and with no append in doubt its end reads nothing back either.
    const redis = new Redis(platform.env.REDIS_URL);
    const monitor = await redis.monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(args);
    });
    try {
      const subscription = subscribeAs<{ chat: Event }>(
        socket(chat.url),
        user,
        `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${EVENT} } }`,
        { input: { content: 'Hello in one go' } },
      );
      await subscription.ended;
      const events = subscription
        .data()
        .map((data) => data.chat)
        .filter((event) => event.type !== 'HEARTBEAT');
      expect(typesOf(events)[0]).toBe('START');
      expect(typesOf(events)[events.length - 1]).toBe('DONE');
      expect((await storedMessage(user, events[0].message.id)).content).toBe(textOf(events));

      const generationId = events[0].generation.id;
      const touching = commands.filter((args) => args.some((arg) => arg.includes(generationId)));
      expect(touching.length).toBeGreaterThan(0);
      const reads = touching.filter(([command]) =>
        ['hgetall', 'xrange', 'xrevrange', 'xread'].includes(command.toLowerCase()),
      );
      expect(reads).toEqual([]);
    } finally {
      monitor.disconnect();
      redis.disconnect();
    }
  });

  it('resumes after a forced disconnect from `after`, losing and repeating nothing', async () => {
    const user = randomUUID();
    const started = await send(chat.url, user, { content: 'Tell me about the sea' });
    const client = socket(chat.url);
    const first = subscribeAs<{ generation: Event }>(client, user, FOLLOW, {
      id: started.generation.id,
      after: 0,
    });
    await first.received(4);
    client.terminate();
    const before = eventsOf(first);
    const lastSeq = before[before.length - 1].seq;
    const second = follow(chat.url, user, started.generation.id, lastSeq);
    await second.ended;
    const resumed = [...before, ...eventsOf(second)];
    expect(resumed.map((event) => event.seq)).toEqual(resumed.map((_, i) => i + 1));
    expect(typesOf(resumed)[resumed.length - 1]).toBe('DONE');
    expect(textOf(resumed)).toBe((await storedMessage(user, started.generation.message.id)).content);
  });

  it('serves a subscriber from a replica other than the one generating', async () => {
    const other = await startReplica();
    const user = randomUUID();
    const started = await send(chat.url, user, { content: 'Cross-replica, please' });
    const subscription = follow(other.url, user, started.generation.id);
    await subscription.ended;
    const events = eventsOf(subscription);
    expect(typesOf(events)[events.length - 1]).toBe('DONE');
    expect(textOf(events)).toBe((await storedMessage(user, started.generation.message.id)).content);
  });

  it('stops a generation from another replica, saving the partial reply as STOPPED', async () => {
    const slow = await startReplica({ OFFLINE_TOKEN_INTERVAL_MS: '200' });
    const user = randomUUID();
    const started = await send(slow.url, user, { content: 'Take your time' });
    const subscription = follow(chat.url, user, started.generation.id);
    await subscription.received(3);
    const stopped = await callAs<{ stopGeneration: { status: string } }>(
      chat.url,
      user,
      'mutation Stop($id: ID!) { stopGeneration(id: $id) { status } }',
      { id: started.generation.id },
    );
    expect(stopped.data?.stopGeneration.status).toBe('STOPPED');
    await subscription.ended;
    const events = eventsOf(subscription);
    expect(typesOf(events).slice(-2)).toEqual(['USAGE', 'STOPPED']);
    const saved = await storedMessage(user, started.generation.message.id);
    expect(saved).toMatchObject({ status: 'STOPPED', content: textOf(events) });
    expect(saved.content.length).toBeGreaterThan(0);
  });

  it('goes on and saves the whole reply when the subscriber disconnects', async () => {
    const slow = await startReplica({ OFFLINE_TOKEN_INTERVAL_MS: '20' });
    const user = randomUUID();
    const started = await send(slow.url, user, { content: 'I will not wait for this' });
    const client = socket(slow.url);
    const subscription = subscribeAs<{ generation: Event }>(client, user, FOLLOW, {
      id: started.generation.id,
      after: 0,
    });
    await subscription.received(2);
    await client.dispose();
    await eventually(async () =>
      expect((await storedMessage(user, started.generation.message.id)).status).toBe('COMPLETE'),
    );
    const events = await replay(user, started.generation.id);
    expect(typesOf(events)[events.length - 1]).toBe('DONE');
    expect((await storedMessage(user, started.generation.message.id)).content).toBe(textOf(events));
  });

  it('marks a generation INTERRUPTED, with its last content, when its process is killed and a replica restarts', async () => {
    const child = await startChatChild(
      replicaEnv({
        OFFLINE_TOKEN_INTERVAL_MS: '100',
        CHECKPOINT_INTERVAL_MS: '100',
        GENERATION_LEASE_MS: '500',
      }),
    );
    children.push(child);
    const user = randomUUID();
    const started = await send(child.url, user, { content: 'This process will crash' });
    const subscription = follow(chat.url, user, started.generation.id);
    await subscription.received(4);
    await child.crash();

    await startReplica({ RECOVERY_INTERVAL_MS: '100' });
    await subscription.ended;
    const events = eventsOf(subscription);
    expect(events[events.length - 1]).toMatchObject({
      type: 'ERROR',
      error: INTERRUPTED_MESSAGE,
      generation: { status: 'INTERRUPTED' },
    });
    const saved = await storedMessage(user, started.generation.message.id);
    expect(saved).toMatchObject({ status: 'INTERRUPTED', content: textOf(events) });
    expect(saved.content.length).toBeGreaterThan(0);
  });

  it('regenerates as a sibling of the reply, and edits as a sibling of the message with a new reply', async () => {
    const user = randomUUID();
    const first = await send(chat.url, user, { content: 'Hello' });
    await replay(user, first.generation.id);
    const second = await send(chat.url, user, {
      conversationId: first.conversation.id,
      content: 'Tell me a joke',
    });
    await replay(user, second.generation.id);

    const regenerated = await callAs<{ regenerate: { id: string; message: { id: string } } }>(
      chat.url,
      user,
      'mutation R($id: ID!) { regenerate(messageId: $id) { id message { id } } }',
      { id: second.generation.message.id },
    );
    expect(regenerated.errors).toBeUndefined();
    const regeneration = regenerated.data?.regenerate as { id: string; message: { id: string } };
    await replay(user, regeneration.id);
    const newReply = await storedMessage(user, regeneration.message.id);
    expect(newReply).toMatchObject({
      role: 'ASSISTANT',
      status: 'COMPLETE',
      parent: { id: second.userMessage.id },
    });
    expect(newReply.siblings.map((s) => s.id)).toEqual([
      second.generation.message.id,
      regeneration.message.id,
    ]);

    const edited = await edit(user, second.userMessage.id, 'Tell me a pun');
    await replay(user, edited.generation.id);
    const newMessage = await storedMessage(user, edited.userMessage.id);
    expect(newMessage).toMatchObject({
      role: 'USER',
      content: 'Tell me a pun',
      parent: { id: first.generation.message.id },
    });
    expect(newMessage.siblings.map((s) => s.id)).toEqual([second.userMessage.id, edited.userMessage.id]);
    expect(await storedMessage(user, edited.generation.message.id)).toMatchObject({
      status: 'COMPLETE',
      parent: { id: edited.userMessage.id },
    });
  });

  it('edits the first message of a conversation as a second root, with its own reply', async () => {
    const user = randomUUID();
    const first = await send(chat.url, user, { content: 'Hello' });
    await replay(user, first.generation.id);

    const edited = await edit(user, first.userMessage.id, 'Good morning');
    expect(edited.conversation.id).toBe(first.conversation.id);
    await replay(user, edited.generation.id);
    const newRoot = await storedMessage(user, edited.userMessage.id);
    expect(newRoot).toMatchObject({ role: 'USER', content: 'Good morning', parent: null });
    expect(newRoot.siblings.map((s) => s.id)).toEqual([first.userMessage.id, edited.userMessage.id]);
    expect(await storedMessage(user, edited.generation.message.id)).toMatchObject({
      status: 'COMPLETE',
      parent: { id: edited.userMessage.id },
    });
  });

  it('reports usage on User and refuses a generation over the quota with QUOTA_EXCEEDED', async () => {
    const limited = await startReplica({
      QUOTA_CONCURRENT_GENERATIONS: '1',
      OFFLINE_TOKEN_INTERVAL_MS: '200',
    });
    const user = randomUUID();
    const started = await send(limited.url, user, { content: 'The one allowed' });
    const refused = await callAs(limited.url, user, SEND, { input: { content: 'One too many' } });
    expect(errorCodes(refused)).toEqual(['QUOTA_EXCEEDED']);
    expect(refused.errors?.[0].extensions).toMatchObject({ quota: 'CONCURRENT_GENERATIONS', limit: 1 });
    const stopped = await callAs<{ stopGeneration: { status: string } }>(
      limited.url,
      user,
      'mutation S($id: ID!) { stopGeneration(id: $id) { status } }',
      { id: started.generation.id },
    );
    expect(stopped.data?.stopGeneration.status).toBe('STOPPED');

    const usage = await callAs<{ _entities: { usage: Record<string, unknown> }[] }>(
      chat.url,
      user,
      `query U($reps: [_Any!]!) {
        _entities(representations: $reps) {
          ... on User { usage(days: 3) { generations totalTokens today { generations totalTokens } daily { date } limits { concurrentGenerations } activeGenerations } }
        }
      }`,
      { reps: [{ __typename: 'User', id: user }] },
    );
    expect(usage.errors).toBeUndefined();
    expect(usage.data?._entities[0].usage).toMatchObject({
      generations: 1,
      today: { generations: 1 },
      daily: [expect.anything(), expect.anything(), expect.anything()],
      activeGenerations: 0,
    });
  });

  it('shows a user nothing of another user’s generations, conversations or usage', async () => {
    const owner = randomUUID();
    const stranger = randomUUID();
    const slow = await startReplica({ OFFLINE_TOKEN_INTERVAL_MS: '200' });
    const started = await send(slow.url, owner, { content: 'Private thoughts' });
    const id = started.generation.id;

    const query = await callAs(chat.url, stranger, 'query G($id: ID!) { generation(id: $id) { id } }', {
      id,
    });
    expect(errorCodes(query)).toEqual(['NOT_FOUND']);
    const subscription = follow(chat.url, stranger, id);
    await subscription.ended;
    expect(subscription.results[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const stop = await callAs(chat.url, stranger, 'mutation S($id: ID!) { stopGeneration(id: $id) { id } }', {
      id,
    });
    expect(errorCodes(stop)).toEqual(['NOT_FOUND']);
    const regenerate = await callAs(
      chat.url,
      stranger,
      'mutation R($id: ID!) { regenerate(messageId: $id) { id } }',
      {
        id: started.generation.message.id,
      },
    );
    expect(errorCodes(regenerate)).toEqual(['NOT_FOUND']);
    const intrude = await callAs(chat.url, stranger, SEND, {
      input: { conversationId: started.conversation.id, content: 'Let me in' },
    });
    expect(errorCodes(intrude)).toEqual(['NOT_FOUND']);
    const entities = await callAs<{ _entities: Record<string, unknown>[] }>(
      chat.url,
      stranger,
      `query E($reps: [_Any!]!) {
        _entities(representations: $reps) {
          ... on Message { generation { id } }
          ... on Conversation { activeGeneration { id } }
          ... on Generation { id }
        }
      }`,
      {
        reps: [
          { __typename: 'Message', id: started.generation.message.id },
          { __typename: 'Conversation', id: started.conversation.id },
          { __typename: 'Generation', id },
        ],
      },
    );
    expect(entities.data?._entities).toEqual([{ generation: null }, { activeGeneration: null }, null]);
    const usage = await callAs(
      chat.url,
      stranger,
      'query U($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { usage { generations } } } }',
      {
        reps: [{ __typename: 'User', id: owner }],
      },
    );
    expect(errorCodes(usage)).toEqual(['FORBIDDEN']);

    const own = await callAs<{ _entities: Record<string, unknown>[] }>(
      chat.url,
      owner,
      'query E($reps: [_Any!]!) { _entities(representations: $reps) { ... on Conversation { activeGeneration { id } } } }',
      { reps: [{ __typename: 'Conversation', id: started.conversation.id }] },
    );
    expect(own.data?._entities).toEqual([{ activeGeneration: { id } }]);
    await callAs(chat.url, owner, 'mutation S($id: ID!) { stopGeneration(id: $id) { id } }', { id });
  });

  it('refuses a subscription without a valid signed identity', async () => {
    const client = socket(chat.url);
    let failure: unknown;
    await new Promise<void>((resolve) => {
      client.subscribe(
        {
          query: FOLLOW,
          variables: { id: randomUUID(), after: 0 },
          extensions: { 'x-identity': 'v1.forged.sig' },
        },
        { next: () => undefined, error: (error) => ((failure = error), resolve()), complete: resolve },
      );
    });
    expect(failure).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
  });
});
