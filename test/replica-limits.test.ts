import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser, type TestUser } from '../common/testing/auth';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { eventually } from '../common/testing/wait';
import type { ReplicaSet } from '../scripts/platform/replicas';
import { callAs } from '../subgraphs/chat/testing/subgraph-client';
import { startTestReplicaSet, type TestReplicaSet } from './support/replica-set';

/**
 * Issue 17: a user's limits hold across replicas, counted in the services' shared Redis
 * (docs/scaling.md, "Shared limits"). Two processes of each service behind HAProxy; the test reaches
 * each gateway and each chat replica on its own port as well as through HAProxy.
 */
const SUBSCRIPTIONS_PER_USER = 3;
const CONCURRENT_GENERATIONS = 2;

let started: TestReplicaSet;
let replicas: ReplicaSet;
const clients: Client[] = [];

beforeAll(async () => {
  started = await startTestReplicaSet('replica_limits', {
    LOG_LEVEL: 'warn',
    SUBSCRIPTIONS_PER_USER: String(SUBSCRIPTIONS_PER_USER),
    QUOTA_CONCURRENT_GENERATIONS: String(CONCURRENT_GENERATIONS),
    // Replies of half a minute: they run, and their subscriptions stay open, for the whole test.
    OFFLINE_TOKEN_INTERVAL_MS: '1000',
  });
  replicas = started.replicas;
}, 240_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await started?.stop();
});

const SEND =
  'mutation ($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }';
const STOP = 'mutation ($id: ID!) { stopGeneration(id: $id) { status } }';
const EVENTS = 'subscription ($id: ID!) { generation(id: $id) { seq type } }';

/** The `origin` of the index-th replica of a service, past HAProxy. */
const origin = (service: 'gateway' | 'chat', index: number) => replicas.replica(service, index).origin;

async function startReply(user: TestUser): Promise<string> {
  const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
    replicas.gatewayUrl,
    SEND,
    { content: 'A long reply, please' },
    user.headers,
  );
  if (!sent.data) throw new Error(JSON.stringify(sent.errors));
  return sent.data.sendMessage.generation.id;
}

/** A graphql-ws connection of the user's to a gateway's /graphql (a replica's own port or HAProxy's). */
function connect(user: TestUser, httpOrigin: string): Client {
  const client = createClient({
    url: `${httpOrigin.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.accessToken}` },
    retryAttempts: 0,
  });
  clients.push(client);
  return client;
}

/** Subscribes to the reply's events; the first result: its START event, or the refusal. */
async function subscribe(client: Client, id: string) {
  const iterator = client.iterate<{ generation: { seq: number; type: string } }>({
    query: EVENTS,
    variables: { id },
  });
  return { iterator, first: (await iterator.next()).value };
}

test('a user’s subscription limit holds across the two gateways: through either one’s own port or HAProxy, the one past the limit is refused, and closing one frees a slot on the other', async () => {
  const user = await registerUser(replicas);
  const id = await startReply(user);
  const [gateway1, gateway2, balanced] = [
    connect(user, origin('gateway', 1)),
    connect(user, origin('gateway', 2)),
    connect(user, replicas.frontends.gateway),
  ];
  const open = [await subscribe(gateway1, id), await subscribe(gateway2, id), await subscribe(balanced, id)];
  for (const { first } of open) expect(first?.data).toMatchObject({ generation: { seq: 1, type: 'START' } });

  for (const gateway of [gateway1, gateway2, balanced]) {
    const refused = await subscribe(gateway, id);
    expect(refused.first?.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: 'subscriptionsPerUser' },
    });
    expect((await refused.iterator.next()).done).toBe(true);
  }

  // Another user is not counted with this one.
  const other = await registerUser(replicas);
  const theirs = await subscribe(connect(other, origin('gateway', 1)), await startReply(other));
  expect(theirs.first?.data).toMatchObject({ generation: { type: 'START' } });

  // Closed on gateway 1, the slot is free on gateway 2.
  await open[0].iterator.return?.();
  const again = await eventually(async () => {
    const attempt = await subscribe(gateway2, id);
    expect(attempt.first?.data).toMatchObject({ generation: { seq: 1 } });
    return attempt;
  });
  await Promise.all([...open, theirs, again].map(({ iterator }) => iterator.return?.()));
}, 60_000);

test('a user’s concurrent-generation quota holds across the two chat replicas: replies started on each count together, and stopping one on one replica frees a slot on the other', async () => {
  const user = await registerUser(replicas);
  const send = (chatOrigin: string, content: string) =>
    callAs<{ sendMessage: { generation: { id: string } } }>(
      `${chatOrigin}/graphql`,
      user.id,
      `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`,
      { input: { content } },
    );
  const [chat1, chat2] = [origin('chat', 1), origin('chat', 2)];
  const first = await send(chat1, 'The first reply, on chat 1');
  const second = await send(chat2, 'The second reply, on chat 2');
  expect(first.errors).toBeUndefined();
  expect(second.errors).toBeUndefined();

  for (const refused of [
    await send(chat1, 'One too many, on chat 1'),
    await send(chat2, 'One too many, on chat 2'),
  ]) {
    expect(errorCodes(refused)).toEqual(['QUOTA_EXCEEDED']);
    expect(refused.errors?.[0].extensions).toMatchObject({
      quota: 'CONCURRENT_GENERATIONS',
      limit: CONCURRENT_GENERATIONS,
    });
  }
  const throughGateway = await postGraphQL(
    replicas.gatewayUrl,
    SEND,
    { content: 'And one more' },
    user.headers,
  );
  expect(errorCodes(throughGateway)).toEqual(['QUOTA_EXCEEDED']);

  // Stopped through chat 2, the reply running on chat 1 gives its slot back to both.
  const stopped = await callAs<{ stopGeneration: { status: string } }>(`${chat2}/graphql`, user.id, STOP, {
    id: first.data?.sendMessage.generation.id,
  });
  expect(stopped.data?.stopGeneration.status).toBe('STOPPED');
  const third = await eventually(async () => {
    const attempt = await send(chat2, 'Now there is room, on chat 2');
    expect(attempt.errors).toBeUndefined();
    return attempt;
  });
  for (const reply of [second, third])
    await callAs(`${chat1}/graphql`, user.id, STOP, { id: reply.data?.sendMessage.generation.id });
}, 60_000);
