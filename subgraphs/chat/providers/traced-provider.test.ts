import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { silentLogger } from '../../../common/testing/logger';
import { type ChatProvider, type ProviderChunk, ProviderError, type ProviderRequest } from './provider';
import { ResilientProvider } from './resilient-provider';
import { TracedProvider } from './traced-provider';

/*
 * The model-call span after OpenTelemetry's GenAI conventions, recorded in memory (the OTLP export
 * of a whole trace is test/tracing.test.ts).
 */

const exporter = new InMemorySpanExporter();
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
tracerProvider.register();

const REQUEST: ProviderRequest = {
  model: 'm',
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'Hello?' }],
  maxOutputTokens: 256,
  temperature: 0.4,
  topP: 0.9,
};

/** A provider that answers each call with the next script: chunks, or an error before any. */
function scriptedProvider(...scripts: (ProviderChunk[] | ProviderError)[]) {
  const activeSpans: (string | undefined)[] = [];
  const provider: ChatProvider = {
    name: 'openai-compatible',
    async *stream() {
      // What the provider's HTTP request would nest under.
      activeSpans.push((trace.getActiveSpan() as { name?: string } | undefined)?.name);
      const script = scripts.shift();
      if (script instanceof ProviderError) throw script;
      for (const chunk of script ?? []) yield chunk;
    },
    complete: async () => 'A title',
  };
  return { provider, activeSpans };
}

async function drain(provider: ChatProvider, request = REQUEST): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream(request, new AbortController().signal)) chunks.push(chunk);
  return chunks;
}

const REPLY: ProviderChunk[] = [
  { kind: 'text', text: 'Hi' },
  { kind: 'text', text: ' there.' },
  { kind: 'finish', reason: 'stop', model: 'm-2025' },
  { kind: 'usage', promptTokens: 12, completionTokens: 3 },
];

describe('the model-call span', () => {
  beforeEach(() => exporter.reset());
  afterAll(() => tracerProvider.shutdown());

  it('names the call `chat {model}` and records the request, the response, the usage and the time to the first chunk', async () => {
    const { provider, activeSpans } = scriptedProvider(REPLY);
    expect(await drain(new TracedProvider(provider, 'openai'))).toEqual(REPLY);
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({
      name: 'chat m',
      kind: SpanKind.CLIENT,
      status: { code: SpanStatusCode.UNSET },
    });
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'm',
      'gen_ai.request.temperature': 0.4,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.response.model': 'm-2025',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.time_to_first_chunk': expect.any(Number),
    });
    // The provider runs inside the span, so its HTTP request is the span's child.
    expect(activeSpans).toEqual(['chat m']);
  });

  it('records no top_p when the conversation leaves it to the provider', async () => {
    const { provider } = scriptedProvider(REPLY);
    await drain(new TracedProvider(provider, 'openai'), { ...REQUEST, topP: null });
    const [span] = exporter.getFinishedSpans();
    expect(span.attributes).not.toHaveProperty(['gen_ai.request.top_p']);
    expect(span.attributes['gen_ai.request.temperature']).toBe(0.4);
  });

  it('is one span per attempt under the retry policy, a failed one with its error', async () => {
    const { provider } = scriptedProvider(
      new ProviderError('rate_limited', 'The model provider is rate limiting requests (HTTP 429)'),
      REPLY,
    );
    const resilient = new ResilientProvider(new TracedProvider(provider, 'openai'), {
      maxRetries: 1,
      retryBaseMs: 1,
      firstTokenTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      logger: silentLogger(),
    });
    expect(await drain(resilient)).toEqual(REPLY);
    const [failed, succeeded] = exporter.getFinishedSpans();
    expect(failed.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'The model provider is rate limiting requests (HTTP 429)',
    });
    expect(failed.attributes['error.type']).toBe('rate_limited');
    expect(succeeded.status.code).toBe(SpanStatusCode.UNSET);
    expect(succeeded.attributes['gen_ai.usage.output_tokens']).toBe(3);
  });

  it('ends the span when the reader stops early', async () => {
    const { provider } = scriptedProvider(REPLY);
    for await (const chunk of new TracedProvider(provider, 'openai').stream(
      REQUEST,
      new AbortController().signal,
    )) {
      expect(chunk).toEqual(REPLY[0]);
      break;
    }
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });
});
