/**
 * The one place that tells "a store is unavailable" (retry later) from any other failure (a bug,
 * a constraint), for the drivers the platform uses: pg through MikroORM and knex, ioredis and the
 * Chroma client. The error formatter uses it, so every resolver of every subgraph answers an
 * outage with UPSTREAM_UNAVAILABLE naming the store, and never INTERNAL.
 *
 * Errors are recognised by their shape (name, code, the drivers' fixed messages), not by class, so
 * that common/ imports no driver: the gateway loads this too.
 */

export type Dependency = 'postgres' | 'redis' | 'chroma';

/** Node's socket errors: the peer refused, vanished, or cannot be found. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean the server cannot serve now: class 08 (connection exception), shutting down
 * or starting up (57P01–57P03), too many connections (53300), and a statement cancelled by its
 * timeout (57014).
 */
const isUnavailableSqlState = (code: string) =>
  code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code);

/** What pg and knex say when the connection is gone, cannot be made, or does not answer in time. */
const POSTGRES_CONNECTION_MESSAGES = [
  'Connection terminated',
  'Connection ended unexpectedly',
  'timeout exceeded when trying to connect',
  'timeout expired',
  'connection timeout',
  'Query read timeout',
  'is not queryable',
  'Timeout acquiring a connection',
];

/** MikroORM's wrappers of every driver error (they keep the driver's code and message). */
const POSTGRES_ERROR_NAMES = new Set(['DriverException', 'ConnectionException', 'KnexTimeoutError']);

/** What ioredis rejects a command with while it has no connection (the offline queue is off). */
const REDIS_CONNECTION_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable",
  'Command timed out',
  'Reached the max retries per request limit',
];

/** Redis replies that mean "not now": loading its data, failing over, or its cluster is down. */
const REDIS_NOT_NOW_REPLIES = /^(LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  severity?: unknown;
}

const stringOf = (value: unknown) => (typeof value === 'string' ? value : '');

function postgresUnavailable({ name, message, code, severity }: ErrorShape): boolean {
  const text = stringOf(message);
  const fromPostgres =
    POSTGRES_ERROR_NAMES.has(stringOf(name)) ||
    typeof severity === 'string' ||
    POSTGRES_CONNECTION_MESSAGES.some((known) => text.includes(known));
  if (!fromPostgres) return false;
  const errorCode = stringOf(code);
  return (
    NETWORK_CODES.has(errorCode) ||
    (/^[0-9A-Z]{5}$/.test(errorCode) && isUnavailableSqlState(errorCode)) ||
    POSTGRES_CONNECTION_MESSAGES.some((known) => text.includes(known))
  );
}

function redisUnavailable({ name, message }: ErrorShape): boolean {
  const text = stringOf(message);
  if (stringOf(name) === 'MaxRetriesPerRequestError') return true;
  if (stringOf(name) === 'ReplyError') return REDIS_NOT_NOW_REPLIES.test(text);
  return REDIS_CONNECTION_MESSAGES.some((known) => text.startsWith(known));
}

const chromaUnavailable = ({ name }: ErrorShape) => stringOf(name) === 'ChromaConnectionError';

/** The error itself, then what it wraps: `cause`, GraphQL's `originalError`, an AggregateError's errors. */
function* causes(error: unknown, depth = 0): Generator<ErrorShape> {
  if (typeof error !== 'object' || error === null || depth > 5) return;
  yield error as ErrorShape;
  const wrapper = error as { cause?: unknown; originalError?: unknown; errors?: unknown };
  yield* causes(wrapper.cause, depth + 1);
  yield* causes(wrapper.originalError, depth + 1);
  if (Array.isArray(wrapper.errors)) for (const inner of wrapper.errors) yield* causes(inner, depth + 1);
}

/**
 * The store whose unavailability `error` reports (refused or lost connections, timeouts, a server
 * shutting down), or undefined when it reports anything else.
 */
export function unavailableDependency(error: unknown): Dependency | undefined {
  for (const shape of causes(error)) {
    if (postgresUnavailable(shape)) return 'postgres';
    if (redisUnavailable(shape)) return 'redis';
    if (chromaUnavailable(shape)) return 'chroma';
  }
  return undefined;
}

/**
 * What may be logged of a driver error: its class and code. Its message may hold SQL with the
 * statement's parameters inlined (knex prefixes the query to it), so it is left out.
 */
export function describeCause(error: unknown): { name: string; code?: string } {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const code = stringOf(shape.code);
  return { name: stringOf(shape.name) || typeof error, ...(code ? { code } : {}) };
}
