import { trace } from '@opentelemetry/api';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { keepAliveAgent } from '../../../common/http/keep-alive-agent';
import { nodeFetch } from '../../../common/http/node-fetch';
import type { Logger } from '../../../common/logging/logger';
import {
  type ChatProvider,
  type ModelSource,
  type ProviderChunk,
  type ProviderModel,
  ProviderError,
  providerErrors,
  type ProviderRequest,
  redactSecret,
} from './provider';

export interface OpenAICompatibleOptions {
  baseUrl: string;
  /** Local servers (Ollama, llama.cpp) need none. */
  apiKey?: string;
  logger: Logger;
}

const tracer = trace.getTracer('llm-chat/chat');
/** As many connections to the model server as replies in flight, as with the global fetch. */
const MAX_CONNECTIONS = Infinity;

/** The SDK insists on a key; servers that need none ignore whatever is sent. */
const KEYLESS_PLACEHOLDER = 'no-key';

/** No system message at all when there is no system text (a conversation's "" means none). */
const toMessages = (request: ProviderRequest): ChatCompletionMessageParam[] => [
  ...(request.system !== '' ? [{ role: 'system' as const, content: request.system }] : []),
  ...request.messages.map((message) => ({ role: message.role, content: message.content })),
];

/** `top_p` when the conversation sets it; left out, the server uses its own default. */
const topP = (request: ProviderRequest) => (request.topP != null ? { top_p: request.topP } : {});

/**
 * Any server speaking OpenAI's chat-completions streaming API (Ollama, llama.cpp's server, vLLM,
 * LM Studio, OpenAI itself), through the official `openai` package.
 */
export class OpenAICompatibleProvider implements ChatProvider, ModelSource {
  readonly name = 'openai-compatible';
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAICompatibleOptions) {
    const log = options.logger.child({ component: 'openai-sdk' });
    const redact = (message: string) => redactSecret(message, options.apiKey);
    this.client = new OpenAI({
      apiKey: options.apiKey ?? KEYLESS_PLACEHOLDER,
      baseURL: options.baseUrl,
      // Retries and timeouts are the pipeline's (resilient-provider.ts): one policy for every provider.
      maxRetries: 0,
      // Over node:http rather than the global fetch: a reply's chunks skip undici's web streams.
      fetch: nodeFetch(keepAliveAgent(options.baseUrl, MAX_CONNECTIONS), tracer),
      logLevel: 'warn',
      logger: {
        error: (message) => log.error(redact(message)),
        warn: (message) => log.warn(redact(message)),
        info: (message) => log.info(redact(message)),
        debug: (message) => log.debug(redact(message)),
      },
    });
  }

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    let stream;
    try {
      stream = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: toMessages(request),
          temperature: request.temperature,
          ...topP(request),
          // `max_tokens` rather than `max_completion_tokens`: the one every compatible server knows.
          max_tokens: request.maxOutputTokens,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal },
      );
    } catch (error) {
      throw this.requestFailure(error, signal);
    }

    let finishReason: string | null = null;
    let model: string | undefined;
    let producedText = false;
    let usage: OpenAI.CompletionUsage | undefined;
    try {
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        const text = choice?.delta?.content;
        if (text) {
          producedText = true;
          yield { kind: 'text', text };
        }
        finishReason = choice?.finish_reason ?? finishReason;
        model = chunk.model || model;
        usage = chunk.usage ?? usage;
      }
    } catch (error) {
      throw this.streamFailure(error, signal);
    }
    // The SDK ends the iteration quietly when aborted.
    if (signal.aborted) throw signal.reason;
    if (finishReason === 'content_filter') throw providerErrors.blocked('content_filter');
    if (finishReason === null) throw producedText ? providerErrors.connectionLost() : providerErrors.empty();
    yield { kind: 'finish', reason: finishReason, model };
    if (usage) {
      yield { kind: 'usage', promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
    }
  }

  async complete(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    try {
      const completion = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: toMessages(request),
          temperature: request.temperature,
          ...topP(request),
          max_tokens: request.maxOutputTokens,
        },
        { signal },
      );
      return completion.choices[0]?.message?.content ?? '';
    } catch (error) {
      throw this.requestFailure(error, signal);
    }
  }

  /**
   * `GET /v1/models`. OpenAI's answer names models only; vLLM adds `max_model_len` (the context
   * window), which is kept. Streaming and a system message are what this adapter uses, so every
   * model that answers here has them.
   */
  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const models: ProviderModel[] = [];
    try {
      for await (const model of this.client.models.list({ signal })) {
        const contextWindow = (model as { max_model_len?: unknown }).max_model_len;
        models.push({
          name: model.id,
          ...(typeof contextWindow === 'number' ? { contextWindow } : {}),
          capabilities: ['streaming', 'system_prompt'],
        });
      }
    } catch (error) {
      throw this.requestFailure(error, signal);
    }
    return models;
  }

  private upstream(error: unknown): string {
    return redactSecret(error instanceof Error ? error.message : String(error), this.options.apiKey);
  }

  private requestFailure(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      return providerErrors.httpStatus(error.status, this.upstream(error));
    }
    return providerErrors.unreachable(this.upstream(error));
  }

  private streamFailure(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    // An `{"error": ...}` event in the stream: the server gave up on the reply.
    if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError)) {
      return providerErrors.unfinished('error event');
    }
    // The SDK rethrows JSON.parse's SyntaxError for an unreadable chunk.
    return error instanceof SyntaxError
      ? providerErrors.malformed(this.upstream(error))
      : providerErrors.connectionLost(this.upstream(error));
  }
}
