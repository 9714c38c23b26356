import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { AppError, HTTP_STATUS, toGraphQLError } from '../../common/errors';

/** The code of every operation-limit refusal; `extensions.limit` says which limit. */
export const LIMIT_EXCEEDED_CODE = 'GRAPHQL_VALIDATION_FAILED';

/** An operation refused for a limit: the limit's name and its maximum are in `extensions`. */
export const limitExceeded = (limit: string, max: number, message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: LIMIT_EXCEEDED_CODE, limit, max } });

/**
 * A refusal as an Apollo plugin throws it: `extensions.http` sets the HTTP status and headers of
 * the response (Apollo strips it from what the client sees, and it means nothing over WebSocket).
 */
export function httpRefusal(
  error: GraphQLError | AppError,
  headers: Record<string, string> = {},
): GraphQLError {
  const graphQLError = error instanceof AppError ? toGraphQLError(error) : error;
  const status = error instanceof AppError ? HTTP_STATUS[error.code] : 400;
  return new GraphQLError(graphQLError.message, {
    extensions: {
      ...graphQLError.extensions,
      http: { status, headers: new HeaderMap(Object.entries(headers)) },
    },
  });
}
