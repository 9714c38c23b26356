import { eventually } from '../common/testing/wait';
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { postGraphQL } from '../common/testing/graphql-client';
import { registerUser, type TestUser } from '../common/testing/auth';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** Federated subscriptions end to end: client → gateway → chat (graphql-ws) + conversation + auth. */

interface Event {
  seq: number;
  type: string;
  delta: string | null;
}

const GENERATION = `
  subscription Follow($id: ID!, $after: Int! = 0) {
    generation(id: $id, after: $after) {
      seq
      type
      delta
      generation { id status }
      message {
        id
        conversation { title owner { displayName } }
      }
    }
  }`;

/** Chat's fields only: the cross-subgraph joins per event are covered above, this is about volume. */
const TOKENS = `
  subscription Tokens($id: ID!) {
    generation(id: $id) { seq type delta }
  }`;

type Result = FormattedExecutionResult<Record<string, unknown>>;

const SEND = `
  mutation Send($content: String!) {
    sendMessage(input: { content: $content }) { generation { id } userMessage { id } }
  }`;

describe('subscriptions through the gateway', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  let brian: TestUser;
  const clients: Client[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform('subscriptions', {
      env: { OFFLINE_TOKEN_INTERVAL_MS: '1', QUOTA_CONCURRENT_GENERATIONS: '20' },
    });
    [ada, brian] = await Promise.all([
      registerUser(platform, { displayName: 'Ada' }),
      registerUser(platform, { displayName: 'Brian' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await platform?.stop();
  });

  const wsClient = (user: TestUser | null, options: { onClosed?: (code: number) => void } = {}) => {
    const client = createClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: user ? { authorization: `Bearer ${user.accessToken}` } : {},
      retryAttempts: 0,
      lazy: true,
      on: { closed: (event) => options.onClosed?.((event as { code: number }).code) },
    });
    clients.push(client);
    return client;
  };

  async function send(user: TestUser, content: string): Promise<string> {
    const response = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      platform.gatewayUrl,
      SEND,
      { content },
      user.headers,
    );
    if (!response.data) throw new Error(JSON.stringify(response.errors));
    return response.data.sendMessage.generation.id;
  }

  async function collect(
    client: Client,
    query: string,
    variables: Record<string, unknown>,
    stopAfter = Infinity,
  ): Promise<Result[]> {
    const results: Result[] = [];
    const iterator = client.iterate<Record<string, unknown>, Record<string, unknown>>({ query, variables });
    try {
      for await (const result of iterator) {
        results.push(result);
        if (results.length >= stopAfter) break;
      }
    } catch (error) {
      results.push({ errors: Array.isArray(error) ? error : [{ message: String(error) }] } as Result);
    }
    return results;
  }

  /** The reply's events: HEARTBEATs (sent whenever it is quiet for a while) are not part of it. */
  const events = (results: Result[]) =>
    results
      .map((result) => result.data?.generation as Event & Record<string, unknown>)
      .filter((event) => event.type !== 'HEARTBEAT');

  const replyOf = (list: Event[]) =>
    list
      .filter((event) => event.type === 'TOKEN')
      .map((event) => event.delta)
      .join('');

  async function savedReply(user: TestUser, generationId: string): Promise<string> {
    const response = await postGraphQL<{ generation: { message: { content: string } } }>(
      platform.gatewayUrl,
      'query ($id: ID!) { generation(id: $id) { message { content } } }',
      { id: generationId },
      user.headers,
    );
    return response.data?.generation.message.content ?? '';
  }

  it('streams every token in order over graphql-ws, with fields from all three subgraphs in each event', async () => {
    const id = await send(ada, 'Tell me about federated subscriptions');
    const results = await collect(wsClient(ada), GENERATION, { id });
    expect(results.every((result) => result.errors === undefined)).toBe(true);
    const list = events(results);
    expect(list.map((event) => event.seq)).toEqual(list.map((_, index) => index + 1));
    expect(list[0].type).toBe('START');
    expect(list.at(-1)?.type).toBe('DONE');
    for (const event of list) {
      expect(event.message).toMatchObject({
        conversation: { title: expect.any(String), owner: { displayName: 'Ada' } },
      });
      expect(event.generation).toMatchObject({ id });
    }
    expect(replyOf(list).length).toBeGreaterThan(0);
    expect(replyOf(list)).toBe(await savedReply(ada, id));
  });

  it('streams the same events over Server-Sent Events', async () => {
    const id = await send(ada, 'The same over SSE, please');
    const client = createSseClient({
      url: platform.gatewayUrl,
      headers: { authorization: `Bearer ${ada.accessToken}` },
      retryAttempts: 0,
    });
    const results: Result[] = [];
    for await (const result of client.iterate<Record<string, unknown>>({
      query: GENERATION,
      variables: { id },
    })) {
      results.push(result as Result);
    }
    client.dispose();
    const list = events(results);
    expect(list[0].type).toBe('START');
    expect(list.at(-1)?.type).toBe('DONE');
    expect(list[1].message).toMatchObject({ conversation: { owner: { displayName: 'Ada' } } });
    expect(replyOf(list)).toBe(await savedReply(ada, id));
  });

  it('completes at once when `after` is the last event of a finished reply, and refuses an `after` past it, over graphql-ws and SSE', async () => {
    const id = await send(ada, 'Short, then replayed from its end');
    const all = events(await collect(wsClient(ada), GENERATION, { id }));
    const lastSeq = all.at(-1)?.seq as number;
    expect(all.at(-1)?.type).toBe('DONE');
    const sse = createSseClient({
      url: platform.gatewayUrl,
      headers: { authorization: `Bearer ${ada.accessToken}` },
      retryAttempts: 0,
    });
    const overSse = async (after: number) => {
      const results: Result[] = [];
      for await (const result of sse.iterate<Record<string, unknown>>({
        query: GENERATION,
        variables: { id, after },
      }))
        results.push(result as Result);
      return results;
    };
    try {
      for (const atTheEnd of [
        await collect(wsClient(ada), GENERATION, { id, after: lastSeq }),
        await overSse(lastSeq),
      ])
        expect(atTheEnd).toEqual([]);
      for (const pastTheEnd of [
        await collect(wsClient(ada), GENERATION, { id, after: lastSeq + 1 }),
        await overSse(lastSeq + 1),
      ]) {
        expect(pastTheEnd).toHaveLength(1);
        expect(pastTheEnd[0].errors?.[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'after',
        });
      }
    } finally {
      sse.dispose();
    }
  });

  it('resumes with `after` after a forced disconnect, losing and repeating no token', async () => {
    const id = await send(ada, 'A long answer, please, to resume in the middle of');
    let closeSocket!: () => void;
    const first = createClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ada.accessToken}` },
      retryAttempts: 0,
      on: { opened: (socket) => (closeSocket = () => (socket as WebSocket).terminate()) },
    });
    clients.push(first);
    const before = events(await collect(first, GENERATION, { id }, 3));
    closeSocket();
    const lastSeq = before.at(-1)?.seq as number;
    const after = events(await collect(wsClient(ada), GENERATION, { id, after: lastSeq }));
    const all = [...before, ...after];
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index + 1));
    expect(replyOf(all)).toBe(await savedReply(ada, id));
  });

  it('supports aliases, fragments and variables in the subscription document', async () => {
    const id = await send(ada, 'Shape this');
    const query = `
      subscription Shaped($gid: ID!, $withTitle: Boolean!) {
        step: generation(id: $gid) {
          n: seq
          ...Step
        }
      }
      fragment Step on GenerationEvent {
        kind: type
        message { thread: conversation { title @include(if: $withTitle) } }
      }`;
    const results = await collect(wsClient(ada), query, { gid: id, withTitle: false }, 1);
    expect(results[0]).toEqual({ data: { step: { n: 1, kind: 'START', message: { thread: {} } } } });
  });

  it('refuses a WebSocket connection whose token is invalid', async () => {
    let closedWith: number | undefined;
    const client = createClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: 'Bearer not-a-token' },
      retryAttempts: 0,
      on: { closed: (event) => (closedWith = (event as { code: number }).code) },
    });
    clients.push(client);
    const results = await collect(client, GENERATION, { id: '00000000-0000-4000-8000-000000000000' });
    expect(results).toHaveLength(1);
    expect(closedWith).toBe(4403);
  });

  it('refuses an anonymous subscription to a generation', async () => {
    const id = await send(ada, 'Private');
    const results = await collect(wsClient(null), GENERATION, { id });
    expect(results).toHaveLength(1);
    expect(results[0].errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("does not let one user subscribe to another user's generation", async () => {
    const id = await send(ada, 'Only for Ada');
    const results = await collect(wsClient(brian), GENERATION, { id });
    expect(results).toHaveLength(1);
    expect(results[0].errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('answers validation errors as GraphQL errors and keeps the socket open', async () => {
    const client = wsClient(ada);
    const invalid = await collect(client, 'subscription { generation(id: "x") { nope } }', {});
    expect(invalid[0].errors?.[0].message).toMatch(/Cannot query field "nope"/);
    const models = await collect(client, '{ models { id } }', {});
    expect(models[0].data).toEqual({ models: [{ id: expect.any(String) }] });
  });

  it('answers introspection of the Subscription type through the gateway', async () => {
    const response = await postGraphQL<{ __type: { fields: { name: string }[] } }>(
      platform.gatewayUrl,
      '{ __type(name: "Subscription") { fields { name } } }',
    );
    expect(response.data?.__type.fields.map((field) => field.name).sort()).toEqual(['chat', 'generation']);
  });

  it('closes the upstream subscription when the client unsubscribes', async () => {
    const id = await send(ada, 'Unsubscribe me early, this reply should be long enough to still be running');
    const client = wsClient(ada);
    const iterator = client.iterate({ query: GENERATION, variables: { id } });
    await iterator.next();
    expect(platform.gateway.upstream.openSubscriptions('chat')).toBe(1);
    await iterator.return?.();
    while (platform.gateway.upstream.openSubscriptions('chat') > 0)
      await new Promise((r) => setTimeout(r, 5));
    expect(platform.gateway.upstream.openSubscriptions('chat')).toBe(0);
  });

  it('delivers every token to 200 concurrent subscriptions on one gateway', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(i % 2 ? ada : brian, `Question ${i}`)),
    );
    // Ten connections of twenty: within the per-connection and per-user limits.
    const connections = Array.from({ length: 10 }, (_, i) => wsClient(i % 2 ? ada : brian));
    const runs = Array.from({ length: 200 }, (_, i) => {
      // Same parity as the connection, so each subscribes to its own user's generations.
      const index = (i % 10) + 10 * (Math.floor(i / 10) % 2);
      return collect(connections[i % 10], TOKENS, { id: ids[index] }).then((results) => ({
        index,
        results,
      }));
    });
    const finished = await Promise.all(runs);
    const expected = await Promise.all(ids.map((id, i) => savedReply(i % 2 ? ada : brian, id)));
    for (const { index, results } of finished) {
      expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
      const list = events(results);
      expect(list.at(-1)?.type).toBe('DONE');
      expect(replyOf(list)).toBe(expected[index]);
    }
  }, 60_000);
});

describe('subscription lifecycle through the gateway', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  const clients: Client[] = [];

  beforeAll(async () => {
    // Slow replies keep subscriptions open; a quick session watch ends them soon after a revocation.
    platform = await startTestPlatform('subscription_lifecycle', {
      env: {
        OFFLINE_TOKEN_INTERVAL_MS: '200',
        SESSION_WATCH_INTERVAL_MS: '50',
        SUBSCRIPTIONS_PER_CONNECTION: '2',
        SUBSCRIPTIONS_PER_USER: '3',
        QUOTA_CONCURRENT_GENERATIONS: '10',
      },
    });
    ada = await registerUser(platform, { displayName: 'Ada' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await platform?.stop();
  });

  const connect = (accessToken: string, gatewayUrl = platform.gatewayUrl) => {
    const client = createClient({
      url: gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${accessToken}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  async function startReply(accessToken: string): Promise<string> {
    const response = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      platform.gatewayUrl,
      SEND,
      { content: 'A slow reply, please' },
      { authorization: `Bearer ${accessToken}` },
    );
    if (!response.data) throw new Error(JSON.stringify(response.errors));
    return response.data.sendMessage.generation.id;
  }

  it('ends a subscription with UNAUTHENTICATED once its session is revoked', async () => {
    const id = await startReply(ada.accessToken);
    const iterator = connect(ada.accessToken).iterate<Record<string, unknown>, Record<string, unknown>>({
      query: TOKENS,
      variables: { id },
    });
    expect((await iterator.next()).value?.data).toMatchObject({ generation: { seq: 1, type: 'START' } });
    const loggedOut = await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, ada.headers);
    expect(loggedOut.data).toEqual({ logout: true });
    let last: Result | undefined;
    for await (const result of { [Symbol.asyncIterator]: () => iterator }) last = result;
    expect(last?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('checks the token again for every operation on an open WebSocket: a revoked session gets nothing more', async () => {
    const user = await registerUser(platform);
    // Not lazy: the same socket stays open between the two operations.
    const client = createClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.accessToken}` },
      lazy: false,
      retryAttempts: 0,
    });
    clients.push(client);
    const me = async () =>
      (await client.iterate<{ me: { id: string } | null }>({ query: '{ me { id } }' }).next()).value;
    expect((await me())?.data).toEqual({ me: { id: user.id } });
    await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, user.headers);
    // graphql-ws answers a refused operation with an `error` message, which the iterator throws.
    await expect(me()).rejects.toEqual([
      expect.objectContaining({
        extensions: { code: 'UNAUTHENTICATED', requestId: expect.any(String) },
      }),
    ]);
  });

  it('refuses a subscription past the per-connection limit, keeping the others', async () => {
    const user = await registerUser(platform);
    const client = connect(user.accessToken);
    const ids = await Promise.all([startReply(user.accessToken), startReply(user.accessToken)]);
    const open = ids.map((id) => client.iterate({ query: TOKENS, variables: { id } }));
    await Promise.all(open.map((iterator) => iterator.next()));
    const third = client.iterate({ query: TOKENS, variables: { id: ids[0] } });
    expect((await third.next()).value?.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: 'subscriptionsPerConnection' },
    });
    expect((await third.next()).done).toBe(true);
    expect((await open[0].next()).done).toBe(false);
    await Promise.all(open.map((iterator) => iterator.return?.()));
  });

  it('refuses a subscription past the per-user limit on any connection, and frees a slot on unsubscribe', async () => {
    const user = await registerUser(platform);
    const [first, second] = [connect(user.accessToken), connect(user.accessToken)];
    const id = await startReply(user.accessToken);
    const open = [first, first, second].map((client) => client.iterate({ query: TOKENS, variables: { id } }));
    await Promise.all(open.map((iterator) => iterator.next()));

    const fourth = second.iterate({ query: TOKENS, variables: { id } });
    expect((await fourth.next()).value?.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: 'subscriptionsPerUser' },
    });
    // Another user is not affected by this one's subscriptions.
    const other = await registerUser(platform);
    const theirs = connect(other.accessToken).iterate({
      query: TOKENS,
      variables: { id: await startReply(other.accessToken) },
    });
    expect((await theirs.next()).value?.data).toMatchObject({ generation: { type: 'START' } });

    // On the same connection, so that the server hears the unsubscribe first.
    await open[0].return?.();
    const again = first.iterate({ query: TOKENS, variables: { id } });
    expect((await again.next()).value?.data).toMatchObject({ generation: { seq: 1 } });
    await Promise.all([...open, again, theirs].map((iterator) => iterator.return?.()));
  });

  it('ends open streams retryably when their gateway shuts down: graphql-ws with 1012, SSE with a last UPSTREAM_UNAVAILABLE (retryAfter 0)', async () => {
    const replica = await platform.addGateway();
    const user = await registerUser(platform);
    const id = await startReply(user.accessToken);
    let closeCode: number | undefined;
    const ws = createClient({
      url: replica.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.accessToken}` },
      retryAttempts: 0,
      on: { closed: (event) => (closeCode = (event as { code: number }).code) },
    });
    clients.push(ws);
    const sse = createSseClient({
      url: replica.url,
      headers: { authorization: `Bearer ${user.accessToken}` },
      retryAttempts: 0,
    });
    const overWebSocket = ws.iterate({ query: TOKENS, variables: { id } });
    const overSse = sse.iterate<Record<string, unknown>>({ query: TOKENS, variables: { id } });
    expect((await overWebSocket.next()).value?.data).toMatchObject({ generation: { seq: 1 } });
    expect((await overSse.next()).value?.data).toMatchObject({ generation: { seq: 1 } });

    await replica.stop();
    const ended = async (iterator: AsyncIterator<unknown>) => {
      try {
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
          const errors = (step.value as Result).errors;
          if (errors) return errors;
        }
        return 'completed';
      } catch (error) {
        return error;
      }
    };
    expect(await ended(overSse)).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({
          code: 'UPSTREAM_UNAVAILABLE',
          dependency: 'gateway',
          retryAfter: 0,
        }),
      }),
    ]);
    await ended(overWebSocket);
    expect(closeCode).toBe(1012);
    sse.dispose();
  });

  it('holds the per-user limit across gateway replicas, counted in their shared Redis', async () => {
    const replica = await platform.addGateway();
    const user = await registerUser(platform);
    const [here, there] = [connect(user.accessToken), connect(user.accessToken, replica.url)];
    const id = await startReply(user.accessToken);
    const open = [here, here, there].map((client) => client.iterate({ query: TOKENS, variables: { id } }));
    await Promise.all(open.map((iterator) => iterator.next()));

    const fourth = there.iterate({ query: TOKENS, variables: { id } });
    expect((await fourth.next()).value?.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: 'subscriptionsPerUser' },
    });

    // A slot freed on one replica is free on the other.
    await open[0].return?.();
    await eventually(async () => {
      const again = there.iterate({ query: TOKENS, variables: { id } });
      const first = await again.next();
      await again.return?.();
      expect(first.value?.data).toMatchObject({ generation: { seq: 1 } });
    });
    await Promise.all(open.map((iterator) => iterator.return?.()));
  });
});
