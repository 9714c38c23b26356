import { type ExecutionResult, GraphQLError } from 'graphql';
import { createErrorFormatter, isExpectedError, withoutSuggestions } from '../../common/errors/errors';
import type { GatewayPlugin } from './plugin';

/**
 * Anything unexpected reaches a client as `INTERNAL` with the request id and no detail; the
 * detail is logged with the request id and operation, so a report can be matched to its cause.
 * With `hideSuggestions` (production), no message names what the client did not write ("Did
 * you mean …?"), whether from validation or from a variable's value.
 * Apollo's responses are masked by its `formatError`; subscription events, which do not pass
 * through Apollo, are masked here the same way.
 */
export function useErrorMasking(options: { hideSuggestions: boolean }): GatewayPlugin {
  const formatMasked = createErrorFormatter();
  const format: typeof formatMasked = (formatted, error) => {
    const masked = formatMasked(formatted, error);
    return options.hideSuggestions ? { ...masked, message: withoutSuggestions(masked.message) } : masked;
  };
  const isUnexpected = (error: GraphQLError) => !isExpectedError(error.toJSON(), error);
  return {
    name: 'error-masking',
    apolloSettings: { formatError: format },
    apollo: {
      async requestDidStart() {
        return {
          async didEncounterErrors({ errors, contextValue, operationName }) {
            for (const error of errors.filter(isUnexpected)) {
              contextValue.logger.error(
                { err: error.originalError ?? error, path: error.path, operationName },
                'unexpected error',
              );
            }
          },
        };
      },
    },
    subscriptions: {
      observe: (request, context) => ({
        result: (result: ExecutionResult): ExecutionResult => {
          if (!result.errors) return result;
          const errors = result.errors.map((error) => {
            if (isUnexpected(error)) {
              context.logger.error(
                { err: error.originalError ?? error, path: error.path, operationName: request.operationName },
                'unexpected error',
              );
            }
            const formatted = format(error.toJSON(), error);
            return new GraphQLError(formatted.message, {
              path: formatted.path,
              extensions: { ...formatted.extensions, requestId: context.requestId },
            });
          });
          return { ...result, errors };
        },
      }),
    },
  };
}
