import { randomUUID } from 'node:crypto';
import { AppError } from '../../../common/errors/errors';
import { captureLogs } from '../../../common/testing/logger';
import { eventually } from '../../../common/testing/wait';
import { startChatSubgraph } from '../app';
import { GenerationEventType } from '../streams/generation-event';
import { testChatConfig, userCaller } from '../testing/chat-config';
import { drain, testChatRuntimes } from '../testing/chat-runtime';
import { gemini, type LoopbackServer, openai, startLoopbackServer } from '../testing/loopback-llm';
import { MemoryConversationStore } from '../testing/memory-conversation-store';
import { streamingGeneration } from '../testing/records';
import { UNTITLED_CONVERSATION } from '../records/message.record';
import { testRedis } from '../testing/redis';
import { GenerationRepository } from '../repositories/generation.repository';
import { PublishedModelCatalog } from '../../../common/stores/published-model-catalog';

const redisForTest = testRedis('chat_models');
const runtimes = testChatRuntimes(redisForTest.prefix);

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => (error instanceof AppError ? { code: error.code, message: error.message } : error),
  );

const openaiReply = (text: string) => ({
  kind: 'sse' as const,
  events: [openai.text(text), openai.finish(), openai.usage(), openai.done],
});

describe('models of every configured provider (real SDKs against loopback servers, real Redis)', () => {
  const servers: LoopbackServer[] = [];
  let store: MemoryConversationStore;

  async function loopback(): Promise<LoopbackServer> {
    const server = await startLoopbackServer();
    servers.push(server);
    return server;
  }

  const start = (env: Record<string, string>) => runtimes.start(env, { conversations: store });

  beforeEach(() => {
    store = new MemoryConversationStore();
  });
  afterEach(async () => {
    await runtimes.stopAll();
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(() => redisForTest.cleanup());

  it('lists the offline model and both models a loopback server serves, and sends to the one named', async () => {
    const llm = await loopback();
    llm.serveModels('alpha', 'beta');
    const { services } = await start({ OPENAI_COMPATIBLE_ENDPOINTS: `loopback=${llm.url}/v1` });

    expect(services.models.list()).toEqual([
      expect.objectContaining({
        id: 'offline/echo',
        providerName: 'offline',
        provider: 'offline',
        displayName: 'offline-echo (not a language model)',
        available: true,
        isDefault: true,
      }),
      expect.objectContaining({
        id: 'loopback/alpha',
        name: 'alpha',
        providerName: 'loopback',
        provider: 'openai-compatible',
        capabilities: ['streaming', 'system_prompt'],
        available: true,
        isDefault: false,
      }),
      expect.objectContaining({ id: 'loopback/beta', available: true }),
    ]);

    llm.enqueue(openaiReply('From beta.'));
    const alice = userCaller(randomUUID());
    const started = await services.chat.send(alice, { content: 'Hello beta', model: 'loopback/beta' });
    expect(started.generation).toMatchObject({ model: 'loopback/beta', provider: 'openai-compatible' });
    const events = await drain(await services.generations.follow(alice, started.generation.id, 0));
    expect(events.at(-1)?.event.type).toBe(GenerationEventType.DONE);
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]).toMatchObject({ url: '/v1/chat/completions', body: { model: 'beta' } });
    expect(store.messages.get(started.generation.messageId)).toMatchObject({ content: 'From beta.' });
  });

  it('refuses an unknown model with a coded error naming it, storing nothing, and reads an id from before namespaces', async () => {
    const { services } = await start({});
    const alice = userCaller(randomUUID());
    expect(await failureOf(services.chat.send(alice, { content: 'Hi', model: 'nowhere/x' }))).toEqual({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('nowhere/x'),
    });
    expect(await failureOf(services.chat.send(alice, { content: 'Hi', model: 'offline/nope' }))).toEqual({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('offline/nope'),
    });
    expect(store.conversations.size).toBe(0);
    expect(store.messages.size).toBe(0);
    expect(services.models.resolve('offline-echo (not a language model)').id).toBe('offline/echo');
    expect(services.models.resolve('echo').id).toBe('offline/echo');
  });

  it('reads a generation record written before model ids had a namespace', async () => {
    const { services, redis } = await start({});
    const alice = userCaller(randomUUID());
    const old = streamingGeneration({ userId: alice.userId, model: 'gemini-2.5-flash', provider: 'gemini' });
    await new GenerationRepository(redis, 3_600).create(old, 5_000);
    await expect(services.generations.get(alice, old.id)).resolves.toMatchObject({
      id: old.id,
      model: 'gemini-2.5-flash',
      provider: 'gemini',
    });
  });

  it('starts with a provider down, refuses its models by name, and serves them once it is back', async () => {
    const llm = await loopback();
    llm.serveModels('alpha', 'beta');
    llm.setDown(true);
    const { services } = await start({
      OPENAI_COMPATIBLE_ENDPOINTS: `loopback=${llm.url}/v1`,
      DEFAULT_MODEL: 'loopback/alpha',
      MODEL_REFRESH_INTERVAL_MS: '100',
    });

    expect(services.models.list()).toEqual([
      expect.objectContaining({ id: 'offline/echo', available: true, isDefault: false }),
      expect.objectContaining({ id: 'loopback/alpha', available: false, isDefault: true }),
    ]);
    const alice = userCaller(randomUUID());
    for (const model of ['loopback/alpha', 'loopback/beta', undefined]) {
      const failure = await failureOf(services.chat.send(alice, { content: 'Hi', model }));
      expect(failure).toEqual({
        code: 'UPSTREAM_UNAVAILABLE',
        message: expect.stringContaining(model ?? 'loopback/alpha'),
      });
    }
    expect(llm.requests).toHaveLength(0);
    expect(store.messages.size).toBe(0);

    llm.setDown(false);
    await eventually(() =>
      expect(services.models.list().filter((model) => model.providerName === 'loopback')).toEqual([
        expect.objectContaining({ id: 'loopback/alpha', available: true }),
        expect.objectContaining({ id: 'loopback/beta', available: true }),
      ]),
    );
    llm.enqueue(openaiReply('Back.'));
    const started = await services.chat.send(alice, { content: 'Hi again', model: 'loopback/beta' });
    await drain(await services.generations.follow(alice, started.generation.id, 0));
    expect(llm.requests[0]?.body).toMatchObject({ model: 'beta' });

    // Away again: the last list is kept, marked unavailable.
    llm.setDown(true);
    await eventually(() =>
      expect(services.models.list().filter((model) => model.providerName === 'loopback')).toEqual([
        expect.objectContaining({ id: 'loopback/alpha', available: false }),
        expect.objectContaining({ id: 'loopback/beta', available: false }),
      ]),
    );
  });

  it('lists Gemini models from its models.list and generates through the SDK', async () => {
    const llm = await loopback();
    llm.serveModels(
      {
        name: 'gemini-3.5-flash',
        displayName: 'Gemini 3.5 Flash',
        inputTokenLimit: 1_048_576,
        outputTokenLimit: 65_536,
      },
      { name: 'gemini-embedding-001', methods: ['embedContent'] },
    );
    const { services } = await start({
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: llm.url,
      OFFLINE_PROVIDER_ENABLED: 'false',
    });
    expect(services.models.list()).toEqual([
      {
        id: 'gemini/gemini-3.5-flash',
        name: 'gemini-3.5-flash',
        providerName: 'gemini',
        provider: 'gemini',
        displayName: 'Gemini 3.5 Flash',
        description: 'gemini-3.5-flash on the loopback server',
        contextWindow: 1_048_576,
        outputTokenLimit: 65_536,
        maxTemperature: null,
        capabilities: ['streaming', 'system_prompt'],
        available: true,
        isDefault: true,
      },
    ]);
    expect(services.models.defaultModelProblem()).toBeNull();

    llm.enqueue({ kind: 'sse', events: [gemini.text('Hello '), gemini.finish('from Gemini.')] });
    const alice = userCaller(randomUUID());
    const started = await services.chat.send(alice, { content: 'Hi' });
    expect(started.generation).toMatchObject({ model: 'gemini/gemini-3.5-flash', provider: 'gemini' });
    await drain(await services.generations.follow(alice, started.generation.id, 0));
    expect(llm.requests[0]?.url).toBe('/v1beta/models/gemini-3.5-flash:streamGenerateContent?alt=sse');
    expect(llm.requests[0]?.headers['x-goog-api-key']).toBe('test-gemini-key');
    expect(store.messages.get(started.generation.messageId)).toMatchObject({ content: 'Hello from Gemini.' });
  });

  it("keeps a reply within the model's own output limit, and refuses stored settings outside the model's limits naming the field", async () => {
    const llm = await loopback();
    llm.serveModels({ name: 'gemini-3.5-flash', outputTokenLimit: 32, maxTemperature: 1 });
    const { services } = await start({
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: llm.url,
      OFFLINE_PROVIDER_ENABLED: 'false',
    });
    llm.enqueue({ kind: 'sse', events: [gemini.text('Short '), gemini.finish('reply.')] });
    const alice = userCaller(randomUUID());
    const started = await services.chat.send(alice, { content: 'Hi' });
    await drain(await services.generations.follow(alice, started.generation.id, 0));
    // The deployment allows more; the model's own limit is what is asked for.
    expect(llm.requests[0]?.body).toMatchObject({ generationConfig: { maxOutputTokens: 32 } });

    const conversation = store.conversations.get(started.conversationId);
    if (!conversation) throw new Error('the conversation was not stored');
    conversation.settings = { ...conversation.settings, maxOutputTokens: 64 };
    const refused = services.chat.send(alice, { conversationId: conversation.id, content: 'Again' });
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'settings.maxOutputTokens' },
      message: expect.stringContaining('at most 32 for gemini/gemini-3.5-flash'),
    });
    conversation.settings = { ...conversation.settings, maxOutputTokens: null, temperature: 1.5 };
    await expect(
      services.chat.send(alice, { conversationId: conversation.id, content: 'Once more' }),
    ).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'settings.temperature' },
      message: expect.stringContaining('at most 1 for gemini/gemini-3.5-flash'),
    });
    // No reply was asked of the model for either (the first exchange's title may be).
    expect(llm.requests.filter((request) => request.url.includes(':streamGenerateContent'))).toHaveLength(1);
    expect(store.messages.size).toBe(2);
  });

  it("builds the prompt within the model's context window when it is smaller than LLM_CONTEXT_TOKENS, trimming the oldest history", async () => {
    const llm = await loopback();
    // 400 tokens less a 100-token reply leaves 300 for the prompt: about 1,200 characters.
    llm.serveModels('gemini-3.5-flash', {
      name: 'gemini-small',
      inputTokenLimit: 400,
      outputTokenLimit: 100,
    });
    const { services } = await start({
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: llm.url,
      OFFLINE_PROVIDER_ENABLED: 'false',
      LLM_CONTEXT_TOKENS: '8192',
    });
    expect(services.models.resolve('gemini/gemini-small').contextWindow).toBe(400);
    const alice = userCaller(randomUUID());
    const longStory = `Once upon a time ${'there was a lighthouse keeper. '.repeat(50)}`;
    const generate = async (content: string, model: string, conversationId?: string) => {
      llm.enqueue({ kind: 'sse', events: [gemini.finish('Noted.')] });
      const started = await services.chat.send(alice, { conversationId, content, model });
      await drain(await services.generations.follow(alice, started.generation.id, 0));
      // The reply's request (a title is asked for with :generateContent).
      const request = llm.requests.filter((sent) => sent.url.includes(':streamGenerateContent')).at(-1);
      const body = request?.body as { contents: { parts: { text: string }[] }[] };
      return {
        conversationId: started.conversationId,
        url: request?.url,
        texts: body.contents.flatMap((content) => content.parts.map((part) => part.text)),
      };
    };
    const first = await generate(longStory, 'gemini/gemini-3.5-flash');
    expect(first.texts).toEqual([longStory]);
    // The title is asked for after the first reply (no reply queued for it: the first words are
    // used); once it is settled, no title request can take the next queued reply.
    await eventually(() =>
      expect(store.conversations.get(first.conversationId)?.title).not.toBe(UNTITLED_CONVERSATION),
    );

    // The large window (bounded by LLM_CONTEXT_TOKENS) holds the story; the small one does not.
    const large = await generate('What happened next?', 'gemini/gemini-3.5-flash', first.conversationId);
    expect(large.texts).toEqual([longStory, 'Noted.', 'What happened next?']);
    const small = await generate('And then?', 'gemini/gemini-small', first.conversationId);
    // The story is the oldest history and goes first; the turns after it still fit.
    expect(small.texts).toEqual(['What happened next?', 'Noted.', 'And then?']);
    expect(small.url).toContain('/models/gemini-small:streamGenerateContent');
  });

  it('reports a default model Gemini does not list, in the log and in /health details, with what it serves, and starts', async () => {
    const llm = await loopback();
    llm.serveModels('gemini-3.5-flash', 'gemini-3.5-pro');
    const logs = captureLogs('chat');
    const subgraph = await startChatSubgraph(
      testChatConfig(redisForTest.prefix, {
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: llm.url,
        DEFAULT_MODEL: 'gemini/gemini-2.5-flash',
      }),
      logs.logger,
      { conversations: store },
    );
    try {
      const served = 'offline/echo, gemini/gemini-3.5-flash, gemini/gemini-3.5-pro';
      const problem = `The default model gemini/gemini-2.5-flash is not served by any provider; served: ${served}`;
      expect(logs.lines().filter((line) => line.includes(problem))).toHaveLength(1);

      const health = await fetch(`http://127.0.0.1:${subgraph.port}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({
        service: 'chat',
        status: 'ok',
        components: { redis: { status: 'ok', latencyMs: expect.any(Number) } },
        details: {
          models: {
            defaultModel: 'gemini/gemini-2.5-flash',
            problem,
            served: served.split(', '),
            providers: [
              { name: 'offline', available: true, models: 1 },
              { name: 'gemini', available: true, models: 2 },
            ],
          },
        },
      });
    } finally {
      await subgraph.stop();
    }
  });

  it("publishes the catalog for the conversation subgraph's checks after every refresh, each model within the deployment's output limit, expiring unless renewed", async () => {
    const llm = await loopback();
    llm.serveModels(
      { name: 'gemini-3.5-flash', outputTokenLimit: 32, maxTemperature: 1 },
      { name: 'gemini-3.5-pro', outputTokenLimit: 65_536 },
    );
    await start({
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: llm.url,
      OFFLINE_PROVIDER_ENABLED: 'false',
      MODEL_REFRESH_INTERVAL_MS: '100',
      MODEL_LIST_TIMEOUT_MS: '1000',
    });
    // MODEL_CATALOG_KEY is `<prefix>model-catalog` in tests: read under the file's prefix.
    const redis = await redisForTest.connect();
    const published = new PublishedModelCatalog(redis, 'model-catalog');
    const flash = {
      id: 'gemini/gemini-3.5-flash',
      name: 'gemini-3.5-flash',
      provider: 'gemini',
      maxOutputTokens: 32,
      maxTemperature: 1,
      available: true,
      isDefault: true,
    };
    const pro = {
      id: 'gemini/gemini-3.5-pro',
      name: 'gemini-3.5-pro',
      provider: 'gemini',
      maxOutputTokens: 2_048,
      maxTemperature: null,
      available: true,
      isDefault: false,
    };
    expect((await published.read())?.models).toEqual([flash, pro]);
    // Three refresh intervals and a listing's timeout, renewed at each refresh.
    const ttl = await redis.pttl('model-catalog');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_300);

    llm.setDown(true);
    await eventually(async () =>
      expect((await published.read())?.models).toEqual([
        { ...flash, available: false },
        { ...pro, available: false },
      ]),
    );
  });
});
