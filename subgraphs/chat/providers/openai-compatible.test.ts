import { captureLogs } from '../../../common/testing/logger';
import { type LoopbackServer, openai, startLoopbackServer } from '../testing/loopback-llm';
import { OpenAICompatibleProvider } from './openai-compatible';
import { type ChatProvider, type ProviderChunk, ProviderError, type ProviderRequest } from './provider';
import { ResilientProvider } from './resilient-provider';

const API_KEY = 'sk-test-key-that-must-never-leak';

const request: ProviderRequest = {
  model: 'llama3.1',
  system: 'Be brief.',
  messages: [
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: 'Hi there' },
    { role: 'user', content: 'How are you?' },
  ],
  maxOutputTokens: 256,
  temperature: 0.5,
  topP: 0.9,
};

async function collect(
  provider: ChatProvider,
  sent = request,
): Promise<{ chunks: ProviderChunk[]; error?: ProviderError }> {
  const chunks: ProviderChunk[] = [];
  try {
    for await (const chunk of provider.stream(sent, new AbortController().signal)) chunks.push(chunk);
    return { chunks };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { chunks, error };
  }
}

const textOf = (chunks: ProviderChunk[]) => chunks.map((c) => (c.kind === 'text' ? c.text : '')).join('');

describe('the OpenAI-compatible provider, through the openai package against a loopback server', () => {
  let server: LoopbackServer;
  let logs: ReturnType<typeof captureLogs>;
  let provider: ChatProvider;

  const resilient = (firstTokenTimeoutMs = 2_000) =>
    new ResilientProvider(
      new OpenAICompatibleProvider({ baseUrl: `${server.url}/v1`, apiKey: API_KEY, logger: logs.logger }),
      { maxRetries: 2, retryBaseMs: 5, firstTokenTimeoutMs, idleTimeoutMs: 2_000, logger: logs.logger },
    );

  beforeEach(async () => {
    server = await startLoopbackServer();
    logs = captureLogs('chat');
    provider = resilient();
  });
  afterEach(async () => {
    await server.close();
    for (const line of logs.lines()) expect(line).not.toContain(API_KEY);
  });

  it('streams the reply and the usage chunk, sending the system prompt first, the sampling settings, and asking for usage', async () => {
    server.enqueue({
      kind: 'sse',
      events: [openai.text('I am '), openai.text('fine.'), openai.finish(), openai.usage(13, 5), openai.done],
    });
    const { chunks, error } = await collect(provider);
    expect(error).toBeUndefined();
    expect(chunks).toEqual([
      { kind: 'text', text: 'I am ' },
      { kind: 'text', text: 'fine.' },
      { kind: 'finish', reason: 'stop', model: 'm' },
      { kind: 'usage', promptTokens: 13, completionTokens: 5 },
    ]);
    const [sent] = server.requests;
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.body).toMatchObject({
      model: 'llama3.1',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 256,
      temperature: 0.5,
      top_p: 0.9,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi there' },
        { role: 'user', content: 'How are you?' },
      ],
    });
  });

  it('sends no system message at all when there is no system text', async () => {
    server.enqueue({ kind: 'sse', events: [openai.text('Hi'), openai.finish(), openai.done] });
    await collect(provider, { ...request, system: '' });
    const { messages } = server.requests[0].body as { messages: { role: string }[] };
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('works with a server that needs no key and sends no usage (estimated later)', async () => {
    const keyless = new OpenAICompatibleProvider({ baseUrl: `${server.url}/v1`, logger: logs.logger });
    server.enqueue({ kind: 'sse', events: [openai.text('Hi'), openai.finish(), openai.done] });
    const { chunks } = await collect(keyless);
    expect(chunks).toEqual([
      { kind: 'text', text: 'Hi' },
      { kind: 'finish', reason: 'stop', model: 'm' },
    ]);
  });

  it('retries a 429 that comes before the first token, with backoff, and then streams', async () => {
    server.enqueue(
      { kind: 'json', status: 429, body: openai.error('Rate limit reached') },
      { kind: 'sse', events: [openai.text('Finally.'), openai.finish(), openai.done] },
    );
    const { chunks, error } = await collect(provider);
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('Finally.');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up on a server that keeps answering 500, after the configured retries', async () => {
    for (let i = 0; i < 3; i++) {
      server.enqueue({ kind: 'json', status: 500, body: openai.error(`upstream broke, key was ${API_KEY}`) });
    }
    const { error } = await collect(provider);
    expect(error).toMatchObject({
      failure: 'unavailable',
      message: 'The model provider is unavailable (HTTP 500)',
    });
    expect(server.requests).toHaveLength(3);
    expect(JSON.stringify(error?.detail)).not.toContain(API_KEY);
  });

  it('reports a malformed chunk as an unreadable response', async () => {
    server.enqueue({ kind: 'sse', events: [openai.text('Half a '), '{"choices": [{"delta": '] });
    const { chunks, error } = await collect(provider);
    expect(textOf(chunks)).toBe('Half a ');
    expect(error).toMatchObject({ failure: 'invalid_response' });
  });

  it('reports a content filter stop as blocked', async () => {
    server.enqueue({
      kind: 'sse',
      events: [openai.text('Well, '), openai.finish('content_filter'), openai.done],
    });
    const { error } = await collect(provider);
    expect(error).toMatchObject({
      failure: 'blocked',
      message: 'The model provider blocked this reply (content_filter)',
    });
  });

  it('reports a connection dropped mid-stream as lost, without retrying', async () => {
    server.enqueue({ kind: 'sse', events: [openai.text('Once upon '), openai.text('a time')], drop: true });
    const { chunks, error } = await collect(provider);
    expect(textOf(chunks)).toBe('Once upon a time');
    expect(error).toMatchObject({ failure: 'connection_lost' });
    expect(server.requests).toHaveLength(1);
  });

  it('treats a stream that ends cleanly without a finish reason as cut off', async () => {
    server.enqueue({ kind: 'sse', events: [openai.text('Once upon ')] });
    const { error } = await collect(provider);
    expect(error).toMatchObject({ failure: 'connection_lost' });
  });

  it('gives up on a first token slower than the timeout', async () => {
    server.enqueue({
      kind: 'sse',
      firstDelayMs: 10_000,
      events: [openai.text('Too late'), openai.finish(), openai.done],
    });
    const { error } = await collect(resilient(100));
    expect(error).toMatchObject({
      failure: 'timeout',
      message: 'The model provider did not start replying within 0.1 seconds',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('stops the upstream request when the caller aborts', async () => {
    server.enqueue({
      kind: 'sse',
      gapMs: 50,
      events: Array.from({ length: 100 }, (_, i) => openai.text(`w${i} `)),
    });
    const controller = new AbortController();
    const reason = new Error('stopped by the user');
    const received: ProviderChunk[] = [];
    await expect(
      (async () => {
        for await (const chunk of provider.stream(request, controller.signal)) {
          received.push(chunk);
          if (received.length === 2) controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(received).toHaveLength(2);
  });

  it('lists the models GET /v1/models names, and fails as unavailable while the server is down', async () => {
    server.serveModels('alpha', 'beta');
    const bare = new OpenAICompatibleProvider({ baseUrl: `${server.url}/v1`, logger: logs.logger });
    await expect(bare.listModels(new AbortController().signal)).resolves.toEqual([
      { name: 'alpha', capabilities: ['streaming', 'system_prompt'] },
      { name: 'beta', capabilities: ['streaming', 'system_prompt'] },
    ]);
    expect(server.listings.map((listing) => listing.url)).toEqual(['/v1/models']);

    server.setDown(true);
    await expect(bare.listModels(new AbortController().signal)).rejects.toMatchObject({
      failure: 'unavailable',
    });
  });
});
