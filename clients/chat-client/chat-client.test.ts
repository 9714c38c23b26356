import { randomUUID } from 'node:crypto';
import { loadJose } from '../../common/util/jose';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { startTcpProxy, type TcpProxy } from '../../common/testing/tcp-proxy';
import { AccessTokenIssuer } from '../../subgraphs/auth/services/access-token-issuer';
import { generateKeyPairJwk, StaticKeyStore } from '../../subgraphs/auth/services/signing-keys';
import {
  ConversationMessagesDocument,
  ConversationsDocument,
  GenerationEventsDocument,
  MeDocument,
} from '../generated/graphql';
import { ChatClient, type GenerationEvent } from './chat-client';
import { GraphQLRequestError, SignedOutError } from './errors';
import { MemoryTokenStore, type Tokens } from './token-store';

let platform: TestPlatform;
let proxy: TcpProxy;
const clients: ChatClient[] = [];

beforeAll(async () => {
  // A reply of many short steps, so a test can act in the middle of one.
  platform = await startTestPlatform('chat-client', { env: { OFFLINE_TOKEN_INTERVAL_MS: '20' } });
  proxy = await startTcpProxy(new URL(platform.gatewayUrl).host);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await proxy?.close();
  await platform?.stop();
});

function clientFor(options: { tokens?: MemoryTokenStore; throughProxy?: boolean } = {}): ChatClient {
  const webSocketUrl = new URL(platform.gatewayUrl);
  webSocketUrl.protocol = 'ws:';
  if (options.throughProxy) webSocketUrl.host = proxy.host;
  const client = new ChatClient({
    url: platform.gatewayUrl,
    webSocketUrl: webSocketUrl.toString(),
    tokens: options.tokens,
    retry: { initialDelayMs: 10 },
  });
  clients.push(client);
  return client;
}

const tokensOf = (user: TestUser, accessTokenExpiresAt: Date): Tokens => ({
  accessToken: user.accessToken,
  accessTokenExpiresAt: accessTokenExpiresAt.toISOString(),
  refreshToken: user.refreshToken,
  refreshTokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
});

const soon = () => new Date(Date.now() + 1_000);
const later = () => new Date(Date.now() + 600_000);

async function collect(events: AsyncIterable<GenerationEvent>, onEvent?: (event: GenerationEvent) => void) {
  const seen: GenerationEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    onEvent?.(event);
  }
  return seen;
}

const replyText = (events: GenerationEvent[]) => events.map((event) => event.delta ?? '').join('');

async function savedMessage(client: ChatClient, conversationId: string, messageId: string) {
  const { conversation } = await client.request(ConversationMessagesDocument, { id: conversationId });
  return conversation.messages.edges.map((edge) => edge.node).find((message) => message.id === messageId);
}

describe('signing in', () => {
  test('register signs the client in, and typed queries then run as the new user', async () => {
    const client = clientFor();
    const email = `typed-${randomUUID()}@example.test`;

    const user = await client.register({ email, password: 'a long passphrase 1', displayName: 'Typed' });

    expect(user.email).toBe(email);
    expect(await client.isSignedIn()).toBe(true);
    expect((await client.request(MeDocument)).me).toMatchObject({ id: user.id, email, displayName: 'Typed' });
  });

  test('a wrong password is refused with UNAUTHENTICATED and leaves the client signed out', async () => {
    const user = await registerUser(platform);
    const client = clientFor();

    const failure = client.login(user.email, 'not the password at all');

    await expect(failure).rejects.toBeInstanceOf(GraphQLRequestError);
    await expect(failure).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await client.isSignedIn()).toBe(false);
  });

  test('logout ends the session on the platform and forgets the tokens', async () => {
    const user = await registerUser(platform);
    const tokens = new MemoryTokenStore();
    const client = clientFor({ tokens });
    await client.login(user.email, user.password);
    const session = await tokens.load();

    await client.logout();

    expect(await client.isSignedIn()).toBe(false);
    const stillHoldingThem = clientFor({ tokens: new MemoryTokenStore(session) });
    await expect(stillHoldingThem.request(MeDocument)).rejects.toBeInstanceOf(SignedOutError);
  });
});

describe('automatic refresh', () => {
  test('an access token about to expire is refreshed before the request, and the new tokens are stored', async () => {
    const user = await registerUser(platform);
    const tokens = new MemoryTokenStore(tokensOf(user, soon()));
    const client = clientFor({ tokens });

    expect((await client.request(MeDocument)).me.id).toBe(user.id);

    const stored = await tokens.load();
    expect(stored?.accessToken).not.toBe(user.accessToken);
    expect(stored?.refreshToken).not.toBe(user.refreshToken);
  });

  test('an access token the gateway refuses is refreshed once and the request sent again', async () => {
    const user = await registerUser(platform);
    const refused = { ...tokensOf(user, later()), accessToken: `${user.accessToken}tampered` };
    const client = clientFor({ tokens: new MemoryTokenStore(refused) });

    expect((await client.request(MeDocument)).me.id).toBe(user.id);
  });

  test('concurrent requests share one refresh, so the session survives (a refresh token is good once)', async () => {
    const user = await registerUser(platform);
    const client = clientFor({ tokens: new MemoryTokenStore(tokensOf(user, soon())) });

    const answers = await Promise.all([1, 2, 3, 4].map(() => client.request(MeDocument)));

    expect(answers.map((answer) => answer.me.id)).toEqual([user.id, user.id, user.id, user.id]);
    expect((await client.request(MeDocument)).me.id).toBe(user.id);
  });

  test('a refresh token the platform refuses signs the client out', async () => {
    const user = await registerUser(platform);
    const tokens = new MemoryTokenStore({ ...tokensOf(user, soon()), refreshToken: 'spent-or-made-up' });
    const client = clientFor({ tokens });

    await expect(client.request(MeDocument)).rejects.toBeInstanceOf(SignedOutError);
    expect(await tokens.load()).toBeUndefined();
  });
});

describe('streamChat', () => {
  test('streams the reply token by token, ends with DONE, and the text is the saved reply', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);

    const stream = client.streamChat({ content: 'Tell me about supergraphs' });
    const events = await collect(stream);
    const sent = await stream.sent;

    expect(events[0].type).toBe('START');
    expect(events.filter((event) => event.type === 'TOKEN').length).toBeGreaterThan(1);
    expect(events.at(-1)?.type).toBe('DONE');
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    const saved = await savedMessage(client, sent.conversation.id, events[0].message.id);
    expect(saved).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', content: replyText(events) });
  });

  test('sends at once: `sent` is the stored message, its new conversation and the generation, before the stream is read', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);

    const stream = client.streamChat({ content: 'What is a supergraph?' });
    const sent = await stream.sent;
    const events = await collect(stream);

    expect(sent.userMessage.content).toBe('What is a supergraph?');
    expect(sent.generation).toMatchObject({ id: events[0].generation.id, status: 'STREAMING' });
    const stored = await savedMessage(client, sent.conversation.id, sent.userMessage.id);
    expect(stored).toMatchObject({ role: 'USER', content: 'What is a supergraph?' });
    expect(events[0]).not.toHaveProperty('started');
  });

  test('a send the platform refuses fails `sent` and the stream with its code, and is not sent again', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);

    const stream = client.streamChat({ content: '   ' });

    await expect(stream.sent).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(collect(stream)).rejects.toBeInstanceOf(GraphQLRequestError);
    const { me } = await client.request(ConversationsDocument, { first: 10 });
    expect(me.conversations.edges).toEqual([]);
  });

  test('resumes after the socket drops mid-reply, losing and repeating no event', async () => {
    const user = await registerUser(platform);
    const client = clientFor({ throughProxy: true });
    await client.login(user.email, user.password);
    const connectionsBefore = proxy.connections();

    const stream = client.streamChat({ content: 'Explain federation in some detail, please' });
    let dropped = false;
    const events = await collect(stream, (event) => {
      if (event.type === 'TOKEN' && !dropped) {
        dropped = true;
        proxy.dropAll();
      }
    });
    const sent = await stream.sent;

    expect(proxy.connections() - connectionsBefore).toBeGreaterThanOrEqual(2);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)?.type).toBe('DONE');
    const saved = await savedMessage(client, sent.conversation.id, events[0].message.id);
    expect(saved?.content).toBe(replyText(events));
  });

  test('aborting the signal stops the generation: the stream ends with STOPPED and the partial reply is saved', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);
    const abort = new AbortController();

    const stream = client.streamChat(
      { content: 'Write a long story about graphs' },
      { signal: abort.signal },
    );
    const events = await collect(stream, (event) => {
      if (event.type === 'TOKEN') abort.abort();
    });
    const sent = await stream.sent;

    expect(events.at(-1)?.type).toBe('STOPPED');
    expect(events.at(-1)?.generation.status).toBe('STOPPED');
    const saved = await savedMessage(client, sent.conversation.id, events[0].message.id);
    expect(saved).toMatchObject({ status: 'STOPPED', content: replyText(events) });
  });

  test('following a generation from `after` delivers only the events after it', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);
    const stream = client.streamChat({ content: 'Hello there' });
    const all = await collect(stream);
    const { generation } = await stream.sent;

    const rest = await collect(client.followGeneration(generation.id, { after: 2 }));

    // The generation's fields are read as of now; what each event says is as it was.
    const said = (events: GenerationEvent[]) => events.map(({ seq, type, delta }) => ({ seq, type, delta }));
    expect(said(rest)).toEqual(said(all.slice(2)));
  });
});

describe('a socket that outlives its access token', () => {
  let shortLived: TestPlatform;
  let privateJwk: string;
  /** How far the gateway's clock is ahead of the real one: the test moves it instead of waiting. */
  let gatewayAheadMs = 0;
  beforeAll(async () => {
    // Auth signs with a key the test also holds, so the test can issue an access token that is
    // about to expire; replies slow enough to keep a stream open meanwhile.
    privateJwk = JSON.stringify((await generateKeyPairJwk('ES256')).privateJwk);
    shortLived = await startTestPlatform('chat-client-expiry', {
      env: { JWT_PRIVATE_JWK: privateJwk, OFFLINE_TOKEN_INTERVAL_MS: '100' },
      gatewayClock: () => Date.now() + gatewayAheadMs,
    });
  });
  afterAll(() => shortLived?.stop());

  /** An access token of the user's session that expires in `seconds`, as auth would have issued it. */
  const expiringIn = async (user: TestUser, seconds: number) => {
    const ttlSeconds = 900;
    const issuer = new AccessTokenIssuer(await StaticKeyStore.create(JSON.parse(privateJwk)), {
      issuer: 'urn:llm-chat:auth',
      audience: 'urn:llm-chat:api',
      ttlSeconds,
      now: () => Date.now() - (ttlSeconds - seconds) * 1000,
    });
    const sessionId = (await loadJose()).decodeJwt(user.accessToken).sid as string;
    return issuer.issue({ userId: user.id, sessionId, role: 'USER' });
  };

  test('a new subscription refused for the expired token renews it, signs the socket in again and is served', async () => {
    const user = await registerUser(shortLived);
    const expiring = await expiringIn(user, 10);
    const tokens = new MemoryTokenStore({
      ...tokensOf(user, expiring.expiresAt),
      accessToken: expiring.token,
    });
    const client = new ChatClient({
      url: shortLived.gatewayUrl,
      retry: { initialDelayMs: 10 },
      refreshMarginMs: 0,
      tokens,
    });
    clients.push(client);
    const abort = new AbortController();
    const first = client.streamChat({ content: 'A long answer, please' }, { signal: abort.signal });
    let firstEvent: () => void = () => undefined;
    const firstEventSeen = new Promise<void>((resolve) => (firstEvent = resolve));
    const following = collect(first, firstEvent);
    const { generation } = await first.sent;
    await firstEventSeen;

    // Past the token's expiry and the gateway's clock tolerance, on the same open socket.
    gatewayAheadMs = 30_000;
    const second = client.subscribe(GenerationEventsDocument, { id: generation.id, after: 0 });
    const { value } = await second.next();
    expect(value?.generation).toMatchObject({ seq: 1, type: 'START' });
    await second.return(undefined);
    expect((await tokens.load())?.accessToken).not.toBe(expiring.token);

    abort.abort();
    const events = await following;
    // The first stream went on across the new sign-in, losing and repeating nothing.
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  });
});

describe('models, settings, instructions and presets', () => {
  async function signedIn(): Promise<ChatClient> {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);
    return client;
  }

  test('models lists the offline model, available and the default', async () => {
    const client = await signedIn();

    expect(await client.models()).toEqual([
      expect.objectContaining({
        id: 'offline/echo',
        providerName: 'offline',
        available: true,
        isDefault: true,
      }),
    ]);
  });

  test("a conversation's settings are read and changed field by field; null goes back to the default", async () => {
    const client = await signedIn();
    const created = await client.createConversation({
      title: 'Terse',
      settings: { model: 'offline/echo', systemPrompt: 'Answer in one sentence.', temperature: 0.2 },
    });
    expect(created).toMatchObject({ title: 'Terse', settings: { temperature: 0.2, recallEnabled: true } });

    const changed = await client.updateConversationSettings(created.id, {
      temperature: null,
      maxOutputTokens: 64,
    });

    expect(changed).toEqual({
      model: 'offline/echo',
      systemPrompt: 'Answer in one sentence.',
      temperature: null,
      topP: null,
      maxOutputTokens: 64,
      recallEnabled: true,
      instructionsEnabled: true,
    });
    expect(await client.conversationSettings(created.id)).toEqual(changed);
  });

  test('a setting out of range is a BAD_USER_INPUT naming the field, and nothing changes', async () => {
    const client = await signedIn();
    const { id } = await client.createConversation({ settings: { temperature: 1 } });

    const refused = client.updateConversationSettings(id, { temperature: 3 });

    await expect(refused).rejects.toBeInstanceOf(GraphQLRequestError);
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      errors: [
        expect.objectContaining({ extensions: expect.objectContaining({ field: 'settings.temperature' }) }),
      ],
    });
    expect((await client.conversationSettings(id)).temperature).toBe(1);
  });

  test('custom instructions start empty, change field by field, and "" clears one', async () => {
    const client = await signedIn();
    expect(await client.instructions()).toEqual({ aboutMe: '', howToAnswer: '' });

    await client.updateInstructions({ aboutMe: 'I write TypeScript.', howToAnswer: 'Briefly.' });
    await client.updateInstructions({ howToAnswer: '' });

    expect(await client.instructions()).toEqual({ aboutMe: 'I write TypeScript.', howToAnswer: '' });
  });

  test('presets are created, listed, changed and deleted; a conversation from one copies its settings', async () => {
    const client = await signedIn();
    const preset = await client.createPreset({
      name: 'Terse',
      settings: { systemPrompt: 'Answer in one sentence.', temperature: 0.2 },
    });
    const changed = await client.updatePreset(preset.id, { settings: { temperature: 0.5 } });
    expect(changed).toMatchObject({ id: preset.id, name: 'Terse', settings: { temperature: 0.5 } });
    expect(await client.presets()).toEqual([changed]);

    const conversation = await client.createConversation({ presetId: preset.id, settings: { topP: 0.9 } });
    expect(conversation.settings).toEqual({ ...changed.settings, topP: 0.9 });

    expect(await client.deletePreset(preset.id)).toBe(preset.id);
    expect(await client.presets()).toEqual([]);
  });

  test("another user's preset is NOT_FOUND", async () => {
    const owner = await signedIn();
    const other = await signedIn();
    const preset = await owner.createPreset({ name: 'Mine' });

    await expect(other.updatePreset(preset.id, { name: 'Theirs' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(other.createConversation({ presetId: preset.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await owner.presets()).map((p) => p.name)).toEqual(['Mine']);
  });
});

describe('memory', () => {
  test('remembered texts are listed, and a forgotten one is gone', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);

    const tea = await client.remember('I prefer tea.');
    const metric = await client.remember('I use metric units.');
    expect((await client.memories()).memories.map((memory) => memory.text).sort()).toEqual([
      'I prefer tea.',
      'I use metric units.',
    ]);

    expect(await client.forgetMemory(tea.id)).toBe(tea.id);
    expect((await client.memories()).memories).toEqual([metric]);
  });

  test("a reply's context shows the memories that went into its prompt, and a forgotten one stays in it", async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);
    const tea = await client.remember('I prefer tea.');

    const stream = client.streamChat({ content: 'What should I drink?' });
    await collect(stream);
    const { generation } = await stream.sent;

    const context = await client.generationContext(generation.id);
    expect(context).toEqual({ instructions: null, memories: [{ id: tea.id, text: tea.text }], recalled: [] });
    await client.forgetMemory(tea.id);
    expect(await client.generationContext(generation.id)).toEqual(context);
  });

  test('recall from other conversations is on until turned off', async () => {
    const user = await registerUser(platform);
    const client = clientFor();
    await client.login(user.email, user.password);
    expect((await client.memories()).recallEnabled).toBe(true);

    expect(await client.setRecallEnabled(false)).toBe(false);

    expect((await client.memories()).recallEnabled).toBe(false);
  });
});
