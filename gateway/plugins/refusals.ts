import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { AppError, toGraphQLError } from '../../common/errors/errors';

/**
 * A refusal as an Apollo plugin throws it: `extensions.http` sets the HTTP status (the code's own
 * unless given) and headers of the response (Apollo strips it from what the client sees, and it
 * means nothing over WebSocket).
 */
export function httpRefusal(
  error: GraphQLError | AppError,
  headers: Record<string, string> = {},
  status = error instanceof AppError ? error.httpStatus : 400,
): GraphQLError {
  const graphQLError = error instanceof AppError ? toGraphQLError(error) : error;
  return new GraphQLError(graphQLError.message, {
    extensions: {
      ...graphQLError.extensions,
      http: { status, headers: new HeaderMap(Object.entries(headers)) },
    },
  });
}
