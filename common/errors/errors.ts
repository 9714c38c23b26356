import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logging/logger';
import { type ErrorCode, httpStatusOf, isErrorCode } from './codes';
import { describeCause, unavailableDependency } from './unavailable-dependency';

export { type ErrorCode, httpStatusOf } from './codes';

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

  /** What a client sees in `extensions`: the details and the code. */
  get extensions(): Record<string, unknown> {
    return { ...this.details, code: this.code };
  }

  /** The HTTP status of a response this error ends before execution (docs/errors.md). */
  get httpStatus(): number {
    return httpStatusOf(this.code);
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
export const upstreamUnavailable = (
  dependency: string,
  message = `${dependency} is unavailable, try again shortly`,
) => new AppError('UPSTREAM_UNAVAILABLE', message, { dependency, retryAfter: UPSTREAM_RETRY_AFTER_SECONDS });
/** A request the gateway or a service cannot serve as sent (a body, a bound on the operation). */
export const badRequest = (message: string, details: Record<string, unknown> = {}) =>
  new AppError('BAD_REQUEST', message, details);
/** What a client gets for a failure nobody expected; the detail goes to the log, never to the client. */
export const internalError = () => new AppError('INTERNAL', 'Internal server error');

/**
 * A message without graphql-js's "Did you mean …?", which names fields, types, arguments or enum
 * values the client did not write (validation and variable errors): production answers without it.
 */
export const withoutSuggestions = (message: string): string => message.replace(/ ?Did you mean .+\?$/, '');

/** The same error (message, locations, path) with more extensions: a code, a request id. */
export const withExtensions = (error: GraphQLError, extensions: Record<string, unknown>): GraphQLError =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, ...extensions },
  });

/** The same error with a code of the table: graphql-js's own errors, coded as Apollo Server codes them over HTTP. */
export const withCode = (error: GraphQLError, code: ErrorCode): GraphQLError =>
  withExtensions(error, { code });

/** An AppError as graphql-js carries it; `originalError` (for the log) never reaches the client. */
export function toGraphQLError(error: AppError, originalError?: Error): GraphQLError {
  return new GraphQLError(error.message, { originalError, extensions: error.extensions });
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
  return isErrorCode(formatted.extensions?.code);
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
        extensions: original.extensions,
      };
    }
    if (isUncodedClientError(error)) {
      return {
        message: formatted.message,
        locations: formatted.locations,
        extensions: badRequest(formatted.message).extensions,
      };
    }
    if (isExpectedError(formatted, error)) {
      const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger?.error({ err: original, path: formatted.path }, 'unexpected error');
    const masked = internalError();
    return {
      message: masked.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: masked.extensions,
    };
  };
}
