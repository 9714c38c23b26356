import { eventually } from '../../common/testing/wait';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ChatClient, type GenerationEvent } from '../../clients/chat-client/chat-client';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { postGraphQL } from '../../common/testing/graphql-client';
import type { Replica, ReplicaSet } from '../../scripts/platform/replicas';
import { startTestReplicaSet, type TestReplicaSet } from '../support/replica-set';

/**
 * Issue 17, item 3: graceful stops (SIGTERM) of real processes, two of each service behind HAProxy
 * (scripts/platform/replicas.ts). A stopping gateway fails its readiness, finishes what it was
 * asked, closes its WebSockets with 1012, and the client resumes on the other gateway with `after`.
 */
let started: TestReplicaSet;
let replicas: ReplicaSet;
let user: TestUser;

beforeAll(async () => {
  started = await startTestReplicaSet('rolling', {
    LOG_LEVEL: 'warn',
    // Replies of some 15 s: a restart lands in the middle of one.
    OFFLINE_TOKEN_INTERVAL_MS: '400',
    // A stopping chat replica lets its running replies finish (docs/scaling.md): all of such a reply.
    SHUTDOWN_GRACE_MS: '20000',
  });
  replicas = started.replicas;
  user = await registerUser(replicas);
}, 240_000);

afterAll(() => started?.stop());

/** Sends a message as a client would while replicas restart: a retryable answer is tried again. */
function startReply(content: string): Promise<string> {
  return eventually(
    async () => {
      const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
        replicas.gatewayUrl,
        'mutation ($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
        { content },
        user.headers,
      );
      const id = sent.data?.sendMessage.generation.id;
      if (!id) throw new Error(`sendMessage failed: ${JSON.stringify(sent.errors)}`);
      return id;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

async function savedContent(generationId: string): Promise<string | undefined> {
  const saved = await postGraphQL<{ generation: { message: { content: string; status: string } } }>(
    replicas.gatewayUrl,
    'query ($id: ID!) { generation(id: $id) { message { content status } } }',
    { id: generationId },
    user.headers,
  );
  return saved.data?.generation.message.content;
}

type Event = Pick<GenerationEvent, 'seq' | 'type' | 'delta'>;
const GENERATION_EVENTS = `subscription ($id: ID!, $after: Int!) {
  generation(id: $id, after: $after) { seq type delta }
}`;

/** One graphql-ws subscription to `url`: its events, until it ends; then `complete`, or the socket's close code. */
function subscribeOnce(url: string, id: string, after: number, onEvent: (event: Event) => void) {
  let closeCode: number | 'complete' | undefined;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.accessToken}` },
    retryAttempts: 0,
    on: { closed: (event) => (closeCode ??= (event as { code: number }).code) },
  });
  const done = new Promise<void>((resolve) => {
    client.subscribe<{ generation: Event }>(
      { query: GENERATION_EVENTS, variables: { id, after } },
      {
        next: (result) => result.data && onEvent(result.data.generation),
        error: (failure) => {
          closeCode ??= (failure as { code?: number }).code;
          resolve();
        },
        complete: () => {
          closeCode ??= 'complete';
          resolve();
        },
      },
    );
  });
  return {
    ended: done.then(async () => {
      await client.dispose();
      return closeCode;
    }),
  };
}

const textOf = (events: Event[]) => events.map((event) => event.delta ?? '').join('');
const delivered = (events: Event[]) => events.filter((event) => event.type !== 'HEARTBEAT');

/** Sends SIGTERM and, while the process drains, reads its /health and asks it a query. */
async function stopGracefully(gateway: Replica) {
  const stopped = replicas.kill(gateway, 'SIGTERM');
  const inFlight = postGraphQL<{ me: { id: string } }>(
    `${gateway.origin}/graphql`,
    '{ me { id } }',
    {},
    user.headers,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const health = await fetch(`${gateway.origin}/health`);
  return { stopped, inFlight, healthStatus: health.status, healthBody: await health.json() };
}

test('a gateway stopped with SIGTERM: readiness 503 while it drains, the request it had completes, its WebSocket closes with 1012 and the reply resumes on the other gateway, every token once', async () => {
  const gateway1 = replicas.replica('gateway', 1);
  const id = await startReply('Tell me, at some length, about rolling restarts');
  const events: Event[] = [];
  let resumedAt: number | undefined;
  const first = subscribeOnce(`${gateway1.origin}/graphql`, id, 0, (event) => events.push(event));
  while (!events.some((event) => event.type === 'TOKEN')) await new Promise((r) => setTimeout(r, 20));

  const drain = await stopGracefully(gateway1);
  expect(drain.healthStatus).toBe(503);
  expect(drain.healthBody).toMatchObject({ status: 'draining' });
  expect((await drain.inFlight).data).toEqual({ me: { id: user.id } });
  const closedAt = Date.now();
  expect(await first.ended).toBe(1012);
  await drain.stopped;

  const lastSeq = delivered(events).at(-1)?.seq ?? 0;
  const second = subscribeOnce(replicas.gatewayUrl, id, lastSeq, (event) => {
    resumedAt ??= Date.now();
    events.push(event);
  });
  expect(await second.ended).toBe('complete');
  const reply = delivered(events);
  // The time to resume is part of what this test reports.
  // eslint-disable-next-line no-console
  console.info(`gateway SIGTERM: resumed ${resumedAt! - closedAt} ms after the 1012 close`);

  expect(reply.map((event) => event.seq)).toEqual(reply.map((_, index) => index + 1));
  expect(reply.at(-1)?.type).toBe('DONE');
  expect(await savedContent(id)).toBe(textOf(reply));
  await replicas.restart(gateway1);
}, 120_000);

test('a rolling restart of every service, one replica at a time (SIGTERM), each under a streaming reply: the typed client sees only retryable ends and gets every token once', async () => {
  const client = new ChatClient({
    url: replicas.gatewayUrl,
    retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 100 },
  });
  /** Starts a reply and follows it with the typed client; resolves once its first event has arrived. */
  async function followNewReply(content: string) {
    const id = await startReply(content);
    const events: GenerationEvent[] = [];
    let failure: unknown;
    const done = (async () => {
      for await (const event of client.followGeneration(id)) events.push(event);
    })().catch((error: unknown) => (failure = error));
    while (events.length === 0 && failure === undefined) await new Promise((r) => setTimeout(r, 20));
    return { id, events, done: done.then(() => failure) };
  }
  try {
    await client.login(user.email, user.password);
    const replies = [];
    // Chat last: a chat replica's running replies finish on it (SHUTDOWN_GRACE_MS) while it drains.
    for (const service of ['auth', 'conversation', 'gateway', 'chat'] as const)
      for (const index of [1, 2]) {
        replies.push(await followNewReply(`Tell me about restarting ${service}-${index}`));
        const replica = replicas.replica(service, index);
        await replicas.kill(replica, 'SIGTERM');
        await replicas.restart(replica);
      }

    for (const reply of replies) {
      expect(await reply.done).toBeUndefined();
      expect(reply.events.map((event) => event.seq)).toEqual(reply.events.map((_, index) => index + 1));
      expect(reply.events.at(-1)?.type).toBe('DONE');
      expect(await savedContent(reply.id)).toBe(reply.events.map((event) => event.delta ?? '').join(''));
    }
  } finally {
    await client.close();
  }
}, 300_000);
