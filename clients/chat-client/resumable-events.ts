import { GraphQLRequestError, type ResponseError, StreamDisconnectedError } from './errors';
import { type Clock, isFinalEvent, Retrier, type RetryPolicy } from './retry';

/** Sent while a reply is alive but quiet; never delivered to the caller (docs/protocol.md, "Liveness"). */
const HEARTBEAT = 'HEARTBEAT';

interface CloseEventLike {
  code: number;
  reason?: string;
}

const isCloseEvent = (value: unknown): value is CloseEventLike =>
  typeof value === 'object' && value !== null && typeof (value as CloseEventLike).code === 'number';

/** What graphql-ws rejects with (GraphQL errors, a close event), as the client's own errors. */
export function toStreamError(operationName: string, error: unknown): Error {
  if (error instanceof Error) return error;
  if (Array.isArray(error)) return new GraphQLRequestError(operationName, error as ResponseError[]);
  if (isCloseEvent(error))
    return new StreamDisconnectedError(error.code, error.reason || 'the socket closed');
  return new StreamDisconnectedError(undefined, String(error));
}

export interface ResumableEventsOptions<Event> {
  /** The last `seq` already seen. */
  after: number;
  /** One subscription to the events after `after`. */
  subscribe: (after: number) => AsyncIterable<Event>;
  retry: RetryPolicy;
  /** Real time and Math.random unless a test gives its own. */
  clock?: Clock;
  random?: () => number;
  /** Runs when iteration starts. */
  onStart?: () => void;
  /** Runs however iteration ends (the last event, an error, or the reader leaving). */
  onEnd?: () => Promise<void>;
  /** Whether a failure now may be resumed at all (default: always); when not, it is the stream's. */
  resumable?: () => boolean;
  /** Told of each failure the stream is about to resume from, after its pause. */
  onResume?: (failure: unknown) => void;
}

/**
 * Events numbered by `seq` from a stream that can drop: each time the subscription fails in a
 * way a retry may cure (retry.ts), or ends before a final event, it is opened again with `after`
 * = the last `seq` delivered, after a pause, so nothing is lost and nothing is delivered twice.
 * An event whose seq is not past the last (a HEARTBEAT, which repeats it) is not delivered; two
 * subscriptions in a row that complete with no new event mean the generation had already ended.
 */
export async function* resumableEvents<Event extends { seq: number; type: string }>(
  options: ResumableEventsOptions<Event>,
): AsyncGenerator<Event> {
  let after = options.after;
  const retrier = new Retrier(options.retry, options.clock, options.random);
  let emptyCompletions = 0;
  options.onStart?.();
  try {
    for (;;) {
      let failure: unknown;
      try {
        let delivered = false;
        for await (const event of options.subscribe(after)) {
          // A HEARTBEAT (the reply is alive, nothing new) repeats the last seq: not part of the reply.
          if (event.type === HEARTBEAT || event.seq <= after) continue;
          after = event.seq;
          delivered = true;
          retrier.progressed();
          yield event;
          if (isFinalEvent(event)) return;
        }
        // Completed with nothing new: the generation had ended, unless the client's own socket
        // closed (graphql-ws completes a disposed client's subscriptions), which one more try tells.
        emptyCompletions = delivered ? 0 : emptyCompletions + 1;
        if (emptyCompletions === 2) return;
        failure = new StreamDisconnectedError(undefined, 'the subscription ended before the generation did');
      } catch (error) {
        failure = error;
      }
      if (options.resumable?.() === false) throw failure;
      await retrier.pause(failure);
      options.onResume?.(failure);
    }
  } finally {
    await options.onEnd?.();
  }
}
