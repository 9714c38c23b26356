import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ProviderEndpoint, ProviderName } from '../config';
import { type ChatProvider, type ProviderChunk, ProviderError, type ProviderRequest } from './provider';

const tracer = trace.getTracer('llm-chat/chat');

/**
 * `gen_ai.provider.name` for an endpoint: OpenTelemetry's well-known name for Gemini's API, the
 * endpoint's own name (`openai`, `ollama`) for an OpenAI-compatible server.
 */
export const genAiProviderName = (endpoint: ProviderEndpoint): string =>
  endpoint.kind === 'gemini' ? 'gcp.gemini' : endpoint.name;

/**
 * Each call to a model as a span after OpenTelemetry's GenAI conventions: `chat {model}`, of kind
 * CLIENT, with the request's model and settings, the finish reason, answering model and token
 * usage the provider reported, and the time to the first chunk of text (`gen_ai.response.time_to_first_chunk`, in seconds from the
 * request). Wrapped around the bare provider, inside the retry policy, so that each attempt is a
 * span of its own and a failed one shows its error; the provider's HTTP request (instrumented
 * fetch) is its child. Only used where spans are recorded (create-provider.ts).
 */
export class TracedProvider implements ChatProvider {
  readonly name: ProviderName;

  constructor(
    private readonly inner: ChatProvider,
    private readonly providerName: string,
  ) {
    this.name = inner.name;
  }

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    const span = this.startSpan(request);
    const active = trace.setSpan(context.active(), span);
    const requested = performance.now();
    let firstText = true;
    const chunks = context.with(active, () => this.inner.stream(request, signal)[Symbol.asyncIterator]());
    try {
      for (;;) {
        const next = await context.with(active, () => chunks.next());
        if (next.done) break;
        const chunk = next.value;
        if (chunk.kind === 'text' && firstText) {
          firstText = false;
          span.setAttribute('gen_ai.response.time_to_first_chunk', (performance.now() - requested) / 1000);
        } else if (chunk.kind === 'finish') {
          span.setAttribute('gen_ai.response.finish_reasons', [chunk.reason]);
          if (chunk.model) span.setAttribute('gen_ai.response.model', chunk.model);
        } else if (chunk.kind === 'usage') {
          span.setAttributes({
            'gen_ai.usage.input_tokens': chunk.promptTokens,
            'gen_ai.usage.output_tokens': chunk.completionTokens,
          });
        }
        yield chunk;
      }
    } catch (error) {
      failed(span, signal.aborted ? signal.reason : error);
      throw error;
    } finally {
      span.end();
      // The consumer stopped early (a cut-off reply, a stop): the provider's own cleanup runs.
      await chunks.return?.(undefined)?.catch(() => undefined);
    }
  }

  async complete(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    const span = this.startSpan(request);
    try {
      return await context.with(trace.setSpan(context.active(), span), () =>
        this.inner.complete(request, signal),
      );
    } catch (error) {
      failed(span, signal.aborted ? signal.reason : error);
      throw error;
    } finally {
      span.end();
    }
  }

  private startSpan(request: ProviderRequest): Span {
    return tracer.startSpan(`chat ${request.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': this.providerName,
        'gen_ai.request.model': request.model,
        'gen_ai.request.temperature': request.temperature,
        'gen_ai.request.max_tokens': request.maxOutputTokens,
        // Only when the conversation sets it: otherwise the provider uses its own default.
        ...(request.topP != null ? { 'gen_ai.request.top_p': request.topP } : {}),
      },
    });
  }
}

/** The span's error: a provider failure by its kind (`rate_limited`, `timeout`, …), anything else by its name. */
function failed(span: Span, error: unknown): void {
  const type =
    error instanceof ProviderError ? error.failure : error instanceof Error ? error.name : 'unknown';
  span.setAttribute('error.type', type);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof ProviderError ? error.message : undefined,
  });
}
