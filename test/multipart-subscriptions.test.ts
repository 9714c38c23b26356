import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, type TestUser } from '../common/testing/auth';
import { postGraphQL } from '../common/testing/graphql-client';
import { isHeartbeat, multipartPartsOf, multipartReader } from '../common/testing/multipart';
import { eventually } from '../common/testing/wait';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** Apollo's multipart HTTP subscription protocol, as curl or HttpLink sees it on the wire. */

const FOLLOW = `
  subscription Follow($id: ID!, $after: Int! = 0) {
    generation(id: $id, after: $after) {
      seq
      type
      delta
      message { id conversation { title owner { displayName } } }
    }
  }`;

const SEND = `
  mutation Send($content: String!) {
    sendMessage(input: { content: $content }) { generation { id } }
  }`;

const MULTIPART = 'multipart/mixed;subscriptionSpec="1.0", application/json';

interface FollowPayload {
  data?: { generation?: { seq: number; type: string; delta: string | null } } | null;
  errors?: unknown[];
}

const partsOf = (body: string) => multipartPartsOf<FollowPayload>(body);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('subscriptions over multipart HTTP', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  let manifestDir: string;

  beforeAll(async () => {
    // FOLLOW is known by its hash (a published client's manifest), and batches are on: both are ways
    // to send a subscription without its text where the transport looks for it.
    manifestDir = await mkdtemp(join(tmpdir(), 'multipart-manifest-'));
    const manifest = join(manifestDir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ [sha256(FOLLOW)]: FOLLOW }));
    platform = await startTestPlatform('multipart', {
      env: { OFFLINE_TOKEN_INTERVAL_MS: '30', MULTIPART_HEARTBEAT_MS: '100' },
      gatewayEnv: { PERSISTED_QUERIES_MANIFEST: manifest, MAX_BATCH_SIZE: '5' },
    });
    ada = await registerUser(platform, { displayName: 'Ada' });
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(manifestDir, { recursive: true, force: true });
  });

  const startReply = async (content = 'Tell me about multipart HTTP') => {
    const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      platform.gatewayUrl,
      SEND,
      { content },
      ada.headers,
    );
    if (!sent.data) throw new Error(JSON.stringify(sent.errors));
    return sent.data.sendMessage.generation.id;
  };

  const subscribe = (variables: Record<string, unknown>, headers: Record<string, string> = ada.headers) =>
    fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MULTIPART, ...headers },
      body: JSON.stringify({ query: FOLLOW, variables }),
    });

  it('streams every event in order as payload parts, with fields of other subgraphs, heartbeats between, and closes', async () => {
    const id = await startReply();
    const response = await subscribe({ id });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
    );
    const { parts, closed } = partsOf(await response.text());

    expect(closed).toBe(true);
    expect(parts.every((part) => /content-type: application\/json/i.test(part.headers))).toBe(true);
    // Tokens come every 30 ms and heartbeats every 100 ms: a reply of a few dozen tokens has some.
    expect(parts.some(isHeartbeat)).toBe(true);
    const events = parts.flatMap((part) =>
      part.json.payload?.data?.generation ? [part.json.payload.data] : [],
    );
    const counted = events.filter((event) => event.generation?.type !== 'HEARTBEAT');
    expect(counted.map((event) => [event.generation?.seq, event.generation?.type])).toEqual(
      counted.map((event, i) => [i + 1, event.generation?.type]),
    );
    expect(events[0]).toMatchObject({
      generation: { type: 'START', message: { conversation: { owner: { displayName: 'Ada' } } } },
    });
    expect(events[events.length - 1].generation?.type).toBe('DONE');
  });

  it('resumes after a given event', async () => {
    const id = await startReply();
    const events = partsOf(await (await subscribe({ id, after: 3 })).text()).parts.flatMap(
      (part) => part.json.payload?.data?.generation ?? [],
    );
    expect(events[0].seq).toBe(4);
  });

  it('answers a refused subscription as a payload with coded errors, and closes', async () => {
    const id = await startReply();
    const { parts, closed } = partsOf(await (await subscribe({ id }, {})).text());
    expect(closed).toBe(true);
    const answered = parts.filter((part) => part.json.payload !== undefined);
    expect(answered).toHaveLength(1);
    expect(answered[0].json.payload?.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    ]);
  });

  it('refuses a subscription sent as plain JSON, or by GET, with 406 naming the protocols to use', async () => {
    const id = await startReply();
    const plain = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...ada.headers },
      body: JSON.stringify({ query: FOLLOW, variables: { id } }),
    });
    expect(plain.status).toBe(406);
    const body = (await plain.json()) as {
      errors: { message: string; extensions: Record<string, unknown> }[];
    };
    expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_REQUEST', requestId: expect.any(String) });
    expect(body.errors[0].message).toMatch(/graphql-ws.*multipart.*text\/event-stream/s);

    const url = new URL(platform.gatewayUrl);
    url.searchParams.set('query', FOLLOW);
    url.searchParams.set('variables', JSON.stringify({ id }));
    const byGet = await fetch(url, {
      headers: { accept: MULTIPART, 'apollo-require-preflight': 'true', ...ada.headers },
    });
    expect(byGet.status).toBe(406);
  });

  describe('sent by its persisted hash alone, or inside a batch', () => {
    const byHash = (variables: Record<string, unknown>) => ({
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(FOLLOW) } },
    });
    const post = (body: unknown, accept: string) =>
      fetch(platform.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, ...ada.headers },
        body: JSON.stringify(body),
      });
    const expectProtocolRefusal = async (response: Response) => {
      expect(response.status).toBe(406);
      const body = (await response.json()) as { errors: { message: string; extensions: object }[] };
      expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_REQUEST', requestId: expect.any(String) });
      expect(body.errors[0].message).toMatch(/graphql-ws.*multipart.*text\/event-stream/s);
    };

    it('streams over the multipart Accept header, the document found by its hash', async () => {
      const id = await startReply();
      const response = await post(byHash({ id }), MULTIPART);
      expect(response.status).toBe(200);
      const { parts, closed } = partsOf(await response.text());
      expect(closed).toBe(true);
      const types = parts.flatMap((part) => part.json.payload?.data?.generation?.type ?? []);
      expect(types[0]).toBe('START');
      expect(types[types.length - 1]).toBe('DONE');
    });

    it('is refused with the same 406 over plain JSON, and by GET with Apollo’s coded 405 naming POST', async () => {
      const id = await startReply();
      await expectProtocolRefusal(await post(byHash({ id }), 'application/json'));

      // Apollo refuses any GET that is not a query before the plugins' checks; still coded, never a 500.
      const url = new URL(platform.gatewayUrl);
      url.searchParams.set('variables', JSON.stringify({ id }));
      url.searchParams.set('extensions', JSON.stringify(byHash({}).extensions));
      const byGet = await fetch(url, { headers: { 'apollo-require-preflight': 'true', ...ada.headers } });
      expect(byGet.status).toBe(405);
      expect(byGet.headers.get('allow')).toBe('POST');
      const body = (await byGet.json()) as { errors: { extensions: object }[] };
      expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('is refused in a batch, with its text or its hash, beside a query that still runs', async () => {
      const id = await startReply();
      const response = await post(
        [{ query: FOLLOW, variables: { id } }, byHash({ id }), { query: '{ __typename }' }],
        'application/json',
      );
      expect(response.status).toBeLessThan(500);
      const results = (await response.json()) as {
        data?: unknown;
        errors?: { message: string; extensions?: { code?: string } }[];
      }[];
      expect(results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([
        ['BAD_REQUEST'],
        ['BAD_REQUEST'],
        undefined,
      ]);
      expect(results[0].errors?.[0].message).toMatch(/graphql-ws.*multipart.*text\/event-stream/s);
      expect(results[2].data).toEqual({ __typename: 'Query' });
    });
  });
});

describe('multipart subscription lifecycle, as over graphql-ws', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    // As test/subscriptions.test.ts's lifecycle: slow replies keep streams open; a quick session
    // watch ends them soon after a revocation.
    platform = await startTestPlatform('multipart_lifecycle', {
      env: {
        OFFLINE_TOKEN_INTERVAL_MS: '200',
        SESSION_WATCH_INTERVAL_MS: '50',
        SUBSCRIPTIONS_PER_USER: '2',
        QUOTA_CONCURRENT_GENERATIONS: '10',
      },
    });
  });
  afterAll(() => platform?.stop());

  const startReply = async (user: TestUser) => {
    const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      platform.gatewayUrl,
      SEND,
      { content: 'A slow reply, please' },
      user.headers,
    );
    if (!sent.data) throw new Error(JSON.stringify(sent.errors));
    return sent.data.sendMessage.generation.id;
  };
  const follow = async (user: TestUser, id: string, gatewayUrl = platform.gatewayUrl) =>
    multipartReader<FollowPayload>(
      await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: MULTIPART, ...user.headers },
        body: JSON.stringify({ query: FOLLOW, variables: { id } }),
      }),
    );

  // As graphql-ws sends a last `next` with the error and then `complete`: a last payload of errors, then the close.
  it('ends the stream with a last payload of UNAUTHENTICATED once its session is revoked, and closes', async () => {
    const ada = await registerUser(platform);
    const stream = await follow(ada, await startReply(ada));
    expect((await stream.nextPayload())?.json.payload?.data?.generation).toMatchObject({ type: 'START' });

    const loggedOut = await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, ada.headers);
    expect(loggedOut.data).toEqual({ logout: true });

    const { parts, closed } = await stream.rest();
    expect(closed).toBe(true);
    expect(parts[parts.length - 1].json).toEqual({
      payload: {
        errors: [
          expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
        ],
      },
    });
  });

  it('refuses a stream past the per-user limit with QUOTA_EXCEEDED, and frees a slot when a client goes away', async () => {
    const user = await registerUser(platform);
    const id = await startReply(user);
    const open = [await follow(user, id), await follow(user, id)];
    for (const stream of open) expect((await stream.nextPayload())?.json.payload?.data).toBeTruthy();

    const third = await (await follow(user, id)).rest();
    expect(third.closed).toBe(true);
    expect(third.parts.map((part) => part.json.payload?.errors)).toEqual([
      [
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'QUOTA_EXCEEDED', limit: 'subscriptionsPerUser' }),
        }),
      ],
    ]);

    // The client closes its connection (as HttpLink does on unsubscribe): the gateway hears it and frees the slot.
    await open[0].cancel();
    const again = await eventually(async () => {
      const stream = await follow(user, id);
      const first = await stream.nextPayload();
      if (!first?.json.payload?.data) {
        await stream.cancel();
        throw new Error(`still refused: ${JSON.stringify(first?.json)}`);
      }
      return stream;
    });
    await Promise.all([open[1], again].map((stream) => stream.cancel()));
  });

  it('ends an open stream with a last payload of retryable UPSTREAM_UNAVAILABLE when its gateway shuts down, then closes', async () => {
    const replica = await platform.addGateway();
    const user = await registerUser(platform);
    const stream = await follow(user, await startReply(user), replica.url);
    expect((await stream.nextPayload())?.json.payload?.data).toBeTruthy();

    const stopped = replica.stop();
    const { parts, closed } = await stream.rest();
    await stopped;
    expect(closed).toBe(true);
    expect(parts[parts.length - 1].json).toEqual({
      payload: {
        errors: [
          expect.objectContaining({
            extensions: expect.objectContaining({
              code: 'UPSTREAM_UNAVAILABLE',
              dependency: 'gateway',
              retryAfter: 0,
            }),
          }),
        ],
      },
    });
  });
});
