import { captureLogs } from '../../../common/testing/logger';
import { gemini, type LoopbackServer, startLoopbackServer } from '../testing/loopback-llm';
import { GeminiProvider } from './gemini';
import { type ChatProvider, type ProviderChunk, ProviderError, type ProviderRequest } from './provider';
import { ResilientProvider } from './resilient-provider';

const API_KEY = 'AIzaSy-test-key-that-must-never-leak';

const request: ProviderRequest = {
  model: 'gemini-2.5-flash',
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

describe('the Gemini provider, through @google/generative-ai against a loopback server', () => {
  let server: LoopbackServer;
  let logs: ReturnType<typeof captureLogs>;
  let provider: ChatProvider;

  beforeEach(async () => {
    server = await startLoopbackServer();
    logs = captureLogs('chat');
    provider = new ResilientProvider(new GeminiProvider({ apiKey: API_KEY, baseUrl: server.url }), {
      maxRetries: 2,
      retryBaseMs: 5,
      firstTokenTimeoutMs: 2_000,
      idleTimeoutMs: 2_000,
      logger: logs.logger,
    });
  });
  afterEach(async () => {
    await server.close();
    for (const line of logs.lines()) expect(line).not.toContain(API_KEY);
  });

  it('streams the reply, then the usage from the last chunk, sending the system instruction and roles', async () => {
    server.enqueue({
      kind: 'sse',
      events: [gemini.text('I am '), gemini.text('fine, '), gemini.finish('thanks.')],
    });
    const { chunks, error } = await collect(provider);
    expect(error).toBeUndefined();
    expect(chunks).toEqual([
      { kind: 'text', text: 'I am ' },
      { kind: 'text', text: 'fine, ' },
      { kind: 'text', text: 'thanks.' },
      { kind: 'finish', reason: 'STOP' },
      { kind: 'usage', promptTokens: 11, completionTokens: 7 },
    ]);
    const [sent] = server.requests;
    expect(sent.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(sent.headers['x-goog-api-key']).toBe(API_KEY);
    expect(sent.body).toMatchObject({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hello' }] },
        { role: 'model', parts: [{ text: 'Hi there' }] },
        { role: 'user', parts: [{ text: 'How are you?' }] },
      ],
      generationConfig: { temperature: 0.5, maxOutputTokens: 256, topP: 0.9 },
    });
  });

  it('sends no system instruction when there is no system text', async () => {
    server.enqueue({ kind: 'sse', events: [gemini.finish('Hi.')] });
    await collect(provider, { ...request, system: '' });
    expect(server.requests[0].body).not.toHaveProperty('systemInstruction');
  });

  it('retries a 429 that comes before the first token, with backoff, and then streams', async () => {
    server.enqueue(
      { kind: 'json', status: 429, body: gemini.error(429, 'Resource has been exhausted') },
      { kind: 'json', status: 429, body: gemini.error(429, 'Resource has been exhausted') },
      { kind: 'sse', events: [gemini.finish('Finally.')] },
    );
    const { chunks, error } = await collect(provider);
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('Finally.');
    expect(server.requests).toHaveLength(3);
    expect(logs.lines().filter((line) => line.includes('retrying'))).toHaveLength(2);
  });

  it('gives up on a provider that keeps answering 500, as unavailable, after the configured retries', async () => {
    for (let i = 0; i < 3; i++) {
      server.enqueue({
        kind: 'json',
        status: 500,
        body: gemini.error(500, `internal error for key ${API_KEY}`),
      });
    }
    const { error } = await collect(provider);
    expect(error).toMatchObject({
      failure: 'unavailable',
      message: 'The model provider is unavailable (HTTP 500)',
    });
    expect(server.requests).toHaveLength(3);
    expect(error?.message).not.toContain(API_KEY);
    expect(error?.detail?.upstream).toContain('[redacted]');
    expect(error?.detail?.upstream).not.toContain(API_KEY);
  });

  it('does not retry a refused request (401)', async () => {
    server.enqueue({ kind: 'json', status: 401, body: gemini.error(401, 'API key not valid') });
    const { error } = await collect(provider);
    expect(error).toMatchObject({
      failure: 'rejected',
      message: 'The model provider refused the request (HTTP 401)',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('reports a malformed chunk as an unreadable response, keeping what came before it', async () => {
    server.enqueue({ kind: 'sse', events: [gemini.text('Half a '), '{"candidates": [{"content": '] });
    const { chunks, error } = await collect(provider);
    expect(textOf(chunks)).toBe('Half a ');
    expect(error).toMatchObject({ failure: 'invalid_response' });
  });

  it('reports a safety block (finishReason SAFETY) as blocked, with the reason', async () => {
    server.enqueue({ kind: 'sse', events: [gemini.text('Well, '), gemini.finish('', 'SAFETY')] });
    const { chunks, error } = await collect(provider);
    expect(textOf(chunks)).toBe('Well, ');
    expect(error).toMatchObject({
      failure: 'blocked',
      message: 'The model provider blocked this reply (SAFETY)',
    });
  });

  it('reports a blocked prompt (promptFeedback.blockReason) as blocked', async () => {
    server.enqueue({ kind: 'sse', events: [gemini.promptBlocked('SAFETY')] });
    const { chunks, error } = await collect(provider);
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({
      failure: 'blocked',
      message: 'The model provider blocked this reply (prompt SAFETY)',
    });
  });

  it('reports empty candidates as an empty reply, not a crash', async () => {
    server.enqueue({ kind: 'sse', events: [JSON.stringify({ candidates: [] })] });
    const { error } = await collect(provider);
    expect(error).toMatchObject({ failure: 'empty', message: 'The model returned an empty reply' });
  });

  it('reports a connection dropped mid-stream as lost, without retrying (tokens were already sent)', async () => {
    server.enqueue({ kind: 'sse', events: [gemini.text('Once upon '), gemini.text('a time')], drop: true });
    const { chunks, error } = await collect(provider);
    expect(textOf(chunks)).toBe('Once upon a time');
    expect(error).toMatchObject({ failure: 'connection_lost' });
    expect(server.requests).toHaveLength(1);
  });

  it('gives up on a first token slower than the timeout, and cancels the request', async () => {
    const impatient = new ResilientProvider(new GeminiProvider({ apiKey: API_KEY, baseUrl: server.url }), {
      maxRetries: 2,
      retryBaseMs: 5,
      firstTokenTimeoutMs: 100,
      idleTimeoutMs: 2_000,
      logger: logs.logger,
    });
    server.enqueue({ kind: 'sse', firstDelayMs: 10_000, events: [gemini.finish('Too late')] });
    const { error } = await collect(impatient);
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
      events: Array.from({ length: 100 }, (_, i) => gemini.text(`w${i} `)),
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

  it('completes a short reply in one piece (titles)', async () => {
    server.enqueue({
      kind: 'json',
      status: 200,
      body: {
        candidates: [
          { content: { role: 'model', parts: [{ text: 'Weather in Paris' }] }, finishReason: 'STOP' },
        ],
      },
    });
    await expect(provider.complete(request, new AbortController().signal)).resolves.toBe('Weather in Paris');
    expect(server.requests[0].url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
  });

  it('lists the models that generate content from models.list, with their limits, sending the key in a header', async () => {
    server.serveModels(
      {
        name: 'gemini-3.5-flash',
        displayName: 'Gemini 3.5 Flash',
        inputTokenLimit: 1_048_576,
        outputTokenLimit: 65_536,
        maxTemperature: 2,
      },
      { name: 'gemini-embedding-001', methods: ['embedContent'] },
    );
    const bare = new GeminiProvider({ apiKey: API_KEY, baseUrl: server.url });
    await expect(bare.listModels(new AbortController().signal)).resolves.toEqual([
      {
        name: 'gemini-3.5-flash',
        displayName: 'Gemini 3.5 Flash',
        description: 'gemini-3.5-flash on the loopback server',
        contextWindow: 1_048_576,
        outputTokenLimit: 65_536,
        maxTemperature: 2,
        capabilities: ['streaming', 'system_prompt'],
      },
    ]);
    expect(server.listings).toEqual([
      expect.objectContaining({ method: 'GET', url: '/v1beta/models?pageSize=1000' }),
    ]);
    expect(server.listings[0].headers['x-goog-api-key']).toBe(API_KEY);
    expect(server.listings[0].url).not.toContain(API_KEY);

    server.setDown(true);
    await expect(bare.listModels(new AbortController().signal)).rejects.toMatchObject({
      failure: 'unavailable',
    });
  });
});
