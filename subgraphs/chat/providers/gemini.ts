import {
  type Content,
  type GenerateContentResponse,
  GoogleGenerativeAI,
  GoogleGenerativeAIFetchError,
  type GenerativeModel,
} from '@google/generative-ai';
import {
  type ChatProvider,
  type ModelSource,
  type PromptMessage,
  type ProviderChunk,
  ProviderError,
  type ProviderModel,
  providerErrors,
  type ProviderRequest,
  redactSecret,
} from './provider';

export interface GeminiOptions {
  apiKey: string;
  /** Another Gemini-compatible host; the SDK's own default when unset. */
  baseUrl?: string;
}

/** Finish reasons of a reply that ended as the model meant it to. */
const COMPLETED = new Set(['STOP', 'MAX_TOKENS']);
/** Finish reasons that mean a filter withheld the rest of the reply. */
const BLOCKED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII']);

const toContents = (messages: PromptMessage[]): Content[] =>
  messages.map((message) => ({
    role: message.role === 'assistant' ? 'model' : 'user',
    parts: [{ text: message.content }],
  }));

const textOf = (response: GenerateContentResponse): string =>
  response.candidates?.[0]?.content?.parts?.map((part) => part.text ?? '').join('') ?? '';

/** Where the SDK sends requests when no other host is configured. */
const GEMINI_API_URL = 'https://generativelanguage.googleapis.com';
const LIST_PAGE_SIZE = 1000;

/** One entry of `models.list` (`GET /v1beta/models`), as much of it as is used. */
interface GeminiModelEntry {
  name: string;
  displayName?: string;
  description?: string;
  inputTokenLimit?: number;
  outputTokenLimit?: number;
  maxTemperature?: number;
  supportedGenerationMethods?: string[];
}

const toProviderModel = (entry: GeminiModelEntry): ProviderModel => ({
  name: entry.name.replace(/^models\//, ''),
  displayName: entry.displayName,
  description: entry.description,
  contextWindow: entry.inputTokenLimit,
  outputTokenLimit: entry.outputTokenLimit,
  maxTemperature: entry.maxTemperature,
  // generateContent comes with its streaming twin and a system instruction.
  capabilities: ['streaming', 'system_prompt'],
});

/** Google Gemini through `@google/generative-ai`, streaming over its SSE endpoint. */
export class GeminiProvider implements ChatProvider, ModelSource {
  readonly name = 'gemini';
  private readonly client: GoogleGenerativeAI;

  constructor(private readonly options: GeminiOptions) {
    this.client = new GoogleGenerativeAI(options.apiKey);
  }

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    let result;
    try {
      result = await this.model(request).generateContentStream(
        { contents: toContents(request.messages) },
        { signal },
      );
    } catch (error) {
      throw this.requestFailure(error, signal);
    }
    // The SDK also aggregates the reply into `response`, which rejects whenever the stream
    // fails; the stream reports the failure, so that copy is silenced rather than left unhandled.
    result.response.catch(() => undefined);

    let finishReason: string | null = null;
    let model: string | undefined;
    let producedText = false;
    let usage: GenerateContentResponse['usageMetadata'];
    try {
      for await (const chunk of result.stream) {
        const blockReason = chunk.promptFeedback?.blockReason;
        if (blockReason) throw providerErrors.blocked(`prompt ${blockReason}`);
        const text = textOf(chunk);
        if (text) {
          producedText = true;
          yield { kind: 'text', text };
        }
        usage = chunk.usageMetadata ?? usage;
        // In the API's answer, not in the SDK's types.
        model = (chunk as { modelVersion?: string }).modelVersion ?? model;
        const reason = chunk.candidates?.[0]?.finishReason;
        if (reason) {
          if (BLOCKED.has(reason)) throw providerErrors.blocked(reason);
          if (!COMPLETED.has(reason)) throw providerErrors.unfinished(reason);
          finishReason = reason;
        }
      }
    } catch (error) {
      throw this.streamFailure(error, signal);
    }
    // A stream that ends without a finish reason was cut off, whatever the transport said.
    if (finishReason === null) throw producedText ? providerErrors.connectionLost() : providerErrors.empty();
    yield { kind: 'finish', reason: finishReason, model };
    if (usage) {
      yield {
        kind: 'usage',
        promptTokens: usage.promptTokenCount ?? 0,
        completionTokens: usage.candidatesTokenCount ?? 0,
      };
    }
  }

  async complete(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    try {
      const result = await this.model(request).generateContent(
        { contents: toContents(request.messages) },
        { signal },
      );
      return textOf(result.response);
    } catch (error) {
      throw this.requestFailure(error, signal);
    }
  }

  /**
   * `models.list` over REST (the SDK has no call for it), every page, keeping the models that
   * generate content (embedding models are listed too).
   */
  async listModels(signal: AbortSignal): Promise<ProviderModel[]> {
    const entries: GeminiModelEntry[] = [];
    let pageToken: string | undefined;
    do {
      const url = new URL('/v1beta/models', this.options.baseUrl ?? GEMINI_API_URL);
      url.searchParams.set('pageSize', String(LIST_PAGE_SIZE));
      if (pageToken) url.searchParams.set('pageToken', pageToken);
      let response: Response;
      try {
        response = await fetch(url, { headers: { 'x-goog-api-key': this.options.apiKey }, signal });
      } catch (error) {
        throw this.requestFailure(error, signal);
      }
      if (!response.ok) throw providerErrors.httpStatus(response.status);
      const page = (await response.json().catch(() => null)) as {
        models?: GeminiModelEntry[];
        nextPageToken?: string;
      } | null;
      if (!page || (page.models !== undefined && !Array.isArray(page.models)))
        throw providerErrors.malformed();
      entries.push(...(page.models ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return entries
      .filter((entry) => entry.supportedGenerationMethods?.includes('generateContent'))
      .map(toProviderModel);
  }

  private model(request: ProviderRequest): GenerativeModel {
    return this.client.getGenerativeModel(
      {
        model: request.model,
        // Left out when there is no system text (a conversation's "" means none).
        ...(request.system !== '' ? { systemInstruction: request.system } : {}),
        generationConfig: {
          temperature: request.temperature,
          maxOutputTokens: request.maxOutputTokens,
          ...(request.topP != null ? { topP: request.topP } : {}),
        },
      },
      this.options.baseUrl ? { baseUrl: this.options.baseUrl } : undefined,
    );
  }

  private upstream(error: unknown): string {
    return redactSecret(error instanceof Error ? error.message : String(error), this.options.apiKey);
  }

  /** A failure before any of the reply arrived: the HTTP status says whether to retry. */
  private requestFailure(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    if (error instanceof GoogleGenerativeAIFetchError && error.status) {
      return providerErrors.httpStatus(error.status, this.upstream(error));
    }
    return providerErrors.unreachable(this.upstream(error));
  }

  /** A failure while the reply streamed: unreadable data, or the connection went away. */
  private streamFailure(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    const upstream = this.upstream(error);
    return upstream.includes('Error parsing JSON response')
      ? providerErrors.malformed(upstream)
      : providerErrors.connectionLost(upstream);
  }
}
