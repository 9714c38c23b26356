import { setTimeout as delay } from 'node:timers/promises';
import { GraphQLRequestError, type ResponseError, StreamDisconnectedError } from './errors';

/** Sent while a reply is alive but quiet; never delivered to the caller (docs/protocol.md, "Liveness"). */
const HEARTBEAT = 'HEARTBEAT';

/** The event types after which a generation sends nothing more. */
const FINAL_EVENT_TYPES = new Set(['DONE', 'ERROR', 'STOPPED']);

/**
 * Close codes after which a new connection may succeed: the ones graphql-ws itself retries
 * (going away, abnormal closure, service restart, try again later, its own keep-alive
 * termination, timeouts). Any other (4403: the token was refused, 4400: a bad request…) is final.
 */
const RESUMABLE_CLOSE_CODES = new Set([1000, 1001, 1005, 1006, 1012, 1013, 1014, 4408, 4499, 4504]);

const MAX_RECONNECT_DELAY_MS = 5_000;

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

const isResumable = (error: unknown): error is StreamDisconnectedError =>
  error instanceof StreamDisconnectedError &&
  (error.closeCode === undefined || RESUMABLE_CLOSE_CODES.has(error.closeCode));

export interface ResumableEventsOptions<Event> {
  /** The last `seq` already seen. */
  after: number;
  /** One subscription to the events after `after`. */
  subscribe: (after: number) => AsyncIterable<Event>;
  /** Resumes in a row (without an event between them) before the stream fails. */
  maxReconnects: number;
  /** The pause before the first resume; doubled for each following one, up to 5 s. */
  reconnectDelayMs: number;
  /** Runs when iteration starts. */
  onStart?: () => void;
  /** Runs however iteration ends (the last event, an error, or the reader leaving). */
  onEnd?: () => Promise<void>;
}

/**
 * Events numbered by `seq` from a stream that can drop: each time the subscription fails in a
 * way a new connection may cure, or ends before a final event, it is opened again with `after`
 * = the last `seq` delivered, so nothing is lost and nothing is delivered twice.
 */
export async function* resumableEvents<Event extends { seq: number; type: string }>(
  options: ResumableEventsOptions<Event>,
): AsyncGenerator<Event> {
  let after = options.after;
  let reconnects = 0;
  options.onStart?.();
  try {
    for (;;) {
      let interruption: StreamDisconnectedError;
      try {
        for await (const event of options.subscribe(after)) {
          // A HEARTBEAT (the reply is alive, nothing new) repeats the last seq: not part of the reply.
          if (event.type === HEARTBEAT || event.seq <= after) continue;
          after = event.seq;
          reconnects = 0;
          yield event;
          if (FINAL_EVENT_TYPES.has(event.type)) return;
        }
        interruption = new StreamDisconnectedError(
          undefined,
          'the subscription ended before the generation did',
        );
      } catch (error) {
        if (!isResumable(error)) throw error;
        interruption = error;
      }
      reconnects += 1;
      if (reconnects > options.maxReconnects) throw interruption;
      await delay(Math.min(options.reconnectDelayMs * 2 ** (reconnects - 1), MAX_RECONNECT_DELAY_MS));
    }
  } finally {
    await options.onEnd?.();
  }
}
