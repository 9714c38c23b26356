import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logging/logger';
import { describeCause, unavailableDependency } from './unavailable-dependency';

/** Every code a client can see in `extensions.code`; the contract in docs/errors.md. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INTERNAL';

/** Codes produced by graphql-js and Apollo Server themselves, passed through unchanged. */
const FRAMEWORK_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const PUBLIC_CODES = new Set<string>([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'UPSTREAM_UNAVAILABLE',
  'INTERNAL',
]);

/** The one error family services throw; its code and details become `extensions`. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badUserInput = (field: string, message: string) =>
  new AppError('BAD_USER_INPUT', message, { field });
export const unauthenticated = (message = 'Authentication required') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed') => new AppError('FORBIDDEN', message);
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
/** Seconds a client should wait before retrying an operation that met an unavailable dependency. */
export const UPSTREAM_RETRY_AFTER_SECONDS = 2;
export const upstreamUnavailable = (dependency: string) =>
  new AppError('UPSTREAM_UNAVAILABLE', `${dependency} is unavailable, try again shortly`, {
    dependency,
    retryAfter: UPSTREAM_RETRY_AFTER_SECONDS,
  });

/**
 * A message without graphql-js's "Did you mean …?", which names fields, types, arguments or enum
 * values the client did not write (validation and variable errors): production answers without it.
 */
export const withoutSuggestions = (message: string): string => message.replace(/ ?Did you mean .+\?$/, '');

/** HTTP status for errors that end a request before GraphQL execution. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  UPSTREAM_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** The same error (message, locations, path) with more extensions: a code, a request id. */
export const withExtensions = (error: GraphQLError, extensions: Record<string, unknown>): GraphQLError =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, ...extensions },
  });

export function toGraphQLError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.details, code: error.code } });
}

/**
 * Apollo Server refuses a few malformed requests with an uncoded error and a 4xx status (a
 * persisted-query hash that does not match its document, an unsupported APQ version): the
 * client's mistake, answered as BAD_REQUEST rather than masked as INTERNAL.
 */
function isUncodedClientError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError) || error.originalError || error.extensions.code !== undefined)
    return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Whether an error reaches clients with a code of its own: an AppError, an unavailable dependency,
 * an uncoded client error, or one with a public or framework code.
 */
export function isExpectedError(formatted: GraphQLFormattedError, error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof AppError || unavailableDependency(original) || isUncodedClientError(error))
    return true;
  const code = formatted.extensions?.code;
  return typeof code === 'string' && (PUBLIC_CODES.has(code) || FRAMEWORK_CODES.has(code));
}

/**
 * Builds Apollo's `formatError`: known errors keep their code, a store that is unavailable
 * becomes UPSTREAM_UNAVAILABLE naming it (common/errors/unavailable-dependency.ts), anything else becomes
 * INTERNAL with no detail (the request id is added by the request-id plugin); the detail goes to
 * the log. Without a logger it logs nothing, for a caller that logs unexpected errors with its request.
 */
export function createErrorFormatter(logger?: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    let original = unwrapResolverError(error);
    const dependency = original instanceof AppError ? undefined : unavailableDependency(original);
    if (dependency) {
      logger?.warn(
        { dependency, cause: describeCause(original), path: formatted.path },
        'dependency unavailable',
      );
      original = upstreamUnavailable(dependency);
    }
    if (original instanceof AppError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...original.details, code: original.code },
      };
    }
    if (isUncodedClientError(error)) {
      return {
        message: formatted.message,
        locations: formatted.locations,
        extensions: { code: 'BAD_REQUEST' },
      };
    }
    if (isExpectedError(formatted, error)) {
      const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger?.error({ err: original, path: formatted.path }, 'unexpected error');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL' },
    };
  };
}
