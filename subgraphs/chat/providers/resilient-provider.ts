import { withoutControlCharacters } from '../../../common/graphql/text-input';
import type { Logger } from '../../../common/logging/logger';
import type { ProviderName } from '../config';
import { backoffDelay, sleep } from '../support/sleep';
import {
  type ChatProvider,
  type ProviderChunk,
  ProviderError,
  providerErrors,
  type ProviderRequest,
} from './provider';

export interface ResilienceOptions {
  /** Retries of a retryable failure (429, 5xx, unreachable) that happens before the first token. */
  maxRetries: number;
  retryBaseMs: number;
  firstTokenTimeoutMs: number;
  /** The longest silence between two chunks once the reply has started. */
  idleTimeoutMs: number;
  logger: Logger;
}

/** A chunk as the conversation subgraph will store it: a reply's text without control characters. */
const storable = (chunk: ProviderChunk): ProviderChunk =>
  chunk.kind === 'text' ? { kind: 'text', text: withoutControlCharacters(chunk.text) } : chunk;

/**
 * Gives every provider the same retry and timeout policy, and the same text: control characters a
 * model writes are left out (the conversation subgraph refuses them, and the reply would be lost),
 * so what is streamed is what is saved. A failure is retried only before the first token: after
 * it, a retry would make the model start over and the user would read the beginning twice. Each
 * attempt has its own AbortController, so a timed-out request is cancelled upstream, not merely
 * ignored.
 */
export class ResilientProvider implements ChatProvider {
  readonly name: ProviderName;

  constructor(
    private readonly inner: ChatProvider,
    private readonly options: ResilienceOptions,
  ) {
    this.name = inner.name;
  }

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    for (let attempt = 0; ; attempt++) {
      const attemptAbort = linkedController(signal);
      const chunks = this.inner.stream(request, attemptAbort.signal)[Symbol.asyncIterator]();
      let started = false;
      let ended = false;
      try {
        for (;;) {
          const next: IteratorResult<ProviderChunk> = await withDeadline(
            chunks.next(),
            started ? this.options.idleTimeoutMs : this.options.firstTokenTimeoutMs,
            started ? providerErrors.idleTimeout : providerErrors.firstTokenTimeout,
            attemptAbort,
          );
          if (next.done) {
            ended = true;
            return;
          }
          started ||= next.value.kind === 'text';
          yield storable(next.value);
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (started || !this.shouldRetry(error, attempt)) throw error;
        await this.pause(error as ProviderError, attempt, signal);
      } finally {
        attemptAbort.dispose({ cancel: !ended });
        // Runs the provider's own cleanup; not awaited, as an aborted request may take a moment to unwind.
        chunks.return?.(undefined)?.catch(() => undefined);
      }
    }
  }

  async complete(request: ProviderRequest, signal: AbortSignal): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const attemptAbort = linkedController(signal);
      let ended = false;
      try {
        const text = await withDeadline(
          this.inner.complete(request, attemptAbort.signal),
          this.options.firstTokenTimeoutMs,
          providerErrors.firstTokenTimeout,
          attemptAbort,
        );
        ended = true;
        return withoutControlCharacters(text);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!this.shouldRetry(error, attempt)) throw error;
        await this.pause(error as ProviderError, attempt, signal);
      } finally {
        attemptAbort.dispose({ cancel: !ended });
      }
    }
  }

  private shouldRetry(error: unknown, attempt: number): boolean {
    return error instanceof ProviderError && error.retryable && attempt < this.options.maxRetries;
  }

  private async pause(error: ProviderError, attempt: number, signal: AbortSignal): Promise<void> {
    const delayMs = backoffDelay(attempt, this.options.retryBaseMs);
    this.options.logger.warn(
      {
        provider: this.name,
        failure: error.failure,
        status: error.detail?.status,
        attempt: attempt + 1,
        delayMs,
      },
      'model provider failed before replying; retrying',
    );
    await sleep(delayMs, signal);
  }
}

interface LinkedController {
  signal: AbortSignal;
  abort: (reason: unknown) => void;
  /**
   * Stops following the parent and, with `cancel`, aborts the attempt (its request, if still running).
   * An attempt that ended is not aborted: an abort builds a DOMException and runs the SDK's listeners,
   * a cost per reply for nothing.
   */
  dispose: (options: { cancel: boolean }) => void;
}

/** An AbortController that also aborts when `parent` does, with the parent's reason. */
function linkedController(parent: AbortSignal): LinkedController {
  const controller = new AbortController();
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: ({ cancel }) => {
      parent.removeEventListener('abort', forward);
      if (cancel) controller.abort();
    },
  };
}

/** Races `promise` against a timer; on timeout the attempt is aborted with the timeout error. */
async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  timeoutError: (ms: number) => ProviderError,
  attempt: LinkedController,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = timeoutError(ms);
      attempt.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
