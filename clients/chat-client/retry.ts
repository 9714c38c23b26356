import { setTimeout as delay } from 'node:timers/promises';
import { ERROR_CODES, isErrorCode } from '../../common/errors/codes';
import { GraphQLRequestError, StreamDisconnectedError } from './errors';

/**
 * When a stream of generation events may be resumed, and how long to wait first: the one
 * definition the typed client, the terminal chat and the Apollo Client example share. The wire
 * contract is docs/protocol.md ("How a subscription ends").
 */

/** Event types after which a generation sends nothing more. Any other type (HEARTBEAT…) is not final. */
const FINAL_EVENT_TYPES = new Set(['DONE', 'ERROR', 'STOPPED']);

/**
 * Close codes after which a new connection may succeed: normal and going-away closes (a client
 * signing in again, a gateway restarting: 1000, 1001), an abnormal drop (1005, 1006), service
 * restart (1012), try again later (1013, also the gateway's "token cannot be checked now"), bad
 * gateway (1014) and graphql-ws's own timeouts and terminations (4408, 4499, 4504). Any other
 * (4403: the token was refused, 4400: a bad request, 4413: a slow consumer…) is final.
 */
const RETRYABLE_CLOSE_CODES = new Set([1000, 1001, 1005, 1006, 1012, 1013, 1014, 4408, 4499, 4504]);

/** Codes that mean "not now" (docs/errors.md): a store or subgraph unavailable, or a rate limit (with its retryAfter). */
const isRetryableCode = (code: unknown): boolean => isErrorCode(code) && ERROR_CODES[code].retryable;

export const isFinalEvent = (event: { type: string }): boolean => FINAL_EVENT_TYPES.has(event.type);

/**
 * Whether a stream that failed this way may be resumed: a socket that closed with a retryable
 * code (or none known), or GraphQL errors that all say "not now". Everything else (refused
 * tokens, bad input, INTERNAL, errors of the client's own) is final.
 */
export function isRetryable(failure: unknown): boolean {
  if (failure instanceof StreamDisconnectedError) {
    return failure.closeCode === undefined || RETRYABLE_CLOSE_CODES.has(failure.closeCode);
  }
  if (failure instanceof GraphQLRequestError) {
    return (
      failure.errors.length > 0 && failure.errors.every((error) => isRetryableCode(error.extensions?.code))
    );
  }
  return false;
}

/** The longest `retryAfter` (seconds) the errors of a failure asked for, in milliseconds. */
function requestedWaitMs(failure: unknown): number {
  if (!(failure instanceof GraphQLRequestError)) return 0;
  const seconds = failure.errors.map((error) => Number(error.extensions?.retryAfter ?? 0) || 0);
  return Math.max(0, ...seconds) * 1000;
}

export interface RetryPolicy {
  /** The pause before the first retry. */
  initialDelayMs: number;
  /** Pauses double from `initialDelayMs` up to this. */
  maxDelayMs: number;
  /** Retries in a row, without an event between them, before the stream fails with the last failure. */
  maxAttempts: number;
}

/** About half a minute of retries in all: a gateway or chat replica restarting is back well within it. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 250, maxDelayMs: 5_000, maxAttempts: 10 };

/**
 * The pause before retry number `attempt` (1 for the first): `initialDelayMs` doubled for each
 * retry before, at most `maxDelayMs`, then drawn at random from the upper half of that, so that
 * clients cut off together do not all come back at the same moment. Never less than `atLeastMs`
 * (what the server asked for).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
  atLeastMs = 0,
): number {
  const ceiling = Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.max(Math.round(ceiling / 2 + (random() * ceiling) / 2), atLeastMs);
}

/** Where the pauses come from: real time, or a test's fake clock. */
export interface Clock {
  sleep: (ms: number) => Promise<void>;
}

export const systemClock: Clock = { sleep: (ms) => delay(ms) };

/** The retries of one stream: each pause follows the policy, and an event delivered starts the count again. */
export class Retrier {
  private attempts = 0;

  constructor(
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {}

  /** The stream moved on: the next failure is the first of a new series. */
  progressed(): void {
    this.attempts = 0;
  }

  /**
   * Waits before retrying after `failure`; throws `failure` instead when it is final, or when
   * `maxAttempts` retries in a row have failed.
   */
  async pause(failure: unknown): Promise<void> {
    if (!isRetryable(failure) || this.attempts >= this.policy.maxAttempts) throw failure;
    this.attempts += 1;
    await this.clock.sleep(retryDelayMs(this.policy, this.attempts, this.random, requestedWaitMs(failure)));
  }
}
