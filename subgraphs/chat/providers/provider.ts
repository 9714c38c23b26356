import type { ProviderName } from '../config';

export interface PromptMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** Everything a provider needs for one reply; history is already trimmed to fit the model. */
export interface ProviderRequest {
  model: string;
  system: string;
  messages: PromptMessage[];
  maxOutputTokens: number;
  temperature: number;
  /** Nucleus sampling; absent or null: the provider's own default. */
  topP?: number | null;
}

export type ProviderChunk =
  | { kind: 'text'; text: string }
  /** How the reply ended, as the provider said: its finish reason and the model that answered (for traces). */
  | { kind: 'finish'; reason: string; model?: string }
  | { kind: 'usage'; promptTokens: number; completionTokens: number };

/**
 * One LLM backend. `stream` yields the reply as it is produced and ends normally only when the
 * provider said the reply is complete; anything else is a thrown `ProviderError`. Aborting the
 * signal cancels the upstream request.
 */
export interface ChatProvider {
  readonly name: ProviderName;
  stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk>;
  /** A short reply in one piece (conversation titles). */
  complete(request: ProviderRequest, signal: AbortSignal): Promise<string>;
}

/** What a provider is known to support; a capability it does not say it has is left out. */
export type ModelCapability = 'streaming' | 'system_prompt' | 'vision' | 'tools';

/** One model as its provider lists it (`name` without the provider's namespace). */
export interface ProviderModel {
  name: string;
  displayName?: string;
  description?: string;
  contextWindow?: number;
  outputTokenLimit?: number;
  /** The highest temperature it accepts, where the provider says (Gemini's `maxTemperature`). */
  maxTemperature?: number;
  capabilities: ModelCapability[];
}

/** A provider that can say which models it serves (OpenAI's `GET /v1/models`, Gemini's `models.list`). */
export interface ModelSource {
  listModels(signal: AbortSignal): Promise<ProviderModel[]>;
}

export type ProviderFailure =
  | 'rate_limited'
  | 'unavailable'
  | 'rejected'
  | 'blocked'
  | 'timeout'
  | 'invalid_response'
  | 'connection_lost'
  | 'empty';

const RETRYABLE: ReadonlySet<ProviderFailure> = new Set(['rate_limited', 'unavailable']);

/**
 * A provider failure in words fit for the user (it ends up in `Generation.error`). The message
 * is always written here, never copied from an SDK or a response, so no key or upstream detail
 * can leak through it; `detail` (secret-redacted) is for the logs only.
 */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly retryable: boolean;
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    readonly detail?: { status?: number; upstream?: string },
  ) {
    super(message);
    this.retryable = RETRYABLE.has(failure);
  }
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** The failures every provider maps its own errors onto. */
export const providerErrors = {
  httpStatus(status: number, upstream?: string): ProviderError {
    if (status === 429) {
      return new ProviderError('rate_limited', 'The model provider is rate limiting requests (HTTP 429)', {
        status,
        upstream,
      });
    }
    if (status >= 500) {
      return new ProviderError('unavailable', `The model provider is unavailable (HTTP ${status})`, {
        status,
        upstream,
      });
    }
    return new ProviderError('rejected', `The model provider refused the request (HTTP ${status})`, {
      status,
      upstream,
    });
  },
  unreachable: (upstream?: string) =>
    new ProviderError('unavailable', 'The model provider could not be reached', { upstream }),
  blocked: (reason: string) =>
    new ProviderError('blocked', `The model provider blocked this reply (${reason})`),
  unfinished: (reason: string) =>
    new ProviderError('rejected', `The model stopped before finishing its reply (${reason})`),
  malformed: (upstream?: string) =>
    new ProviderError('invalid_response', 'The model provider sent a response that could not be read', {
      upstream,
    }),
  connectionLost: (upstream?: string) =>
    new ProviderError('connection_lost', 'The connection to the model provider was lost mid-reply', {
      upstream,
    }),
  firstTokenTimeout: (ms: number) =>
    new ProviderError(
      'timeout',
      `The model provider did not start replying within ${plural(ms / 1000, 'second')}`,
    ),
  idleTimeout: (ms: number) =>
    new ProviderError('timeout', `The model provider stopped sending for ${plural(ms / 1000, 'second')}`),
  empty: () => new ProviderError('empty', 'The model returned an empty reply'),
};

/** Removes a secret from text bound for a log, whatever the SDK put in it. */
export function redactSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}
