import type { GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { type ExecutionResult, GraphQLError, type GraphQLSchema } from 'graphql';
import type { ListSizes } from '../../common/graphql/list-size';
import {
  checkOperationLimits,
  jsonLongerThan,
  type OperationLimits,
  responseTooLarge,
  tokenLimitRefusal,
} from '../../common/graphql/operation-limits';
import { countTokens } from '../../common/graphql/operation-shape';
import type { GatewayContext } from '../context';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

export interface OperationLimitsOptions extends OperationLimits {
  maxRootFields: number;
  /** Whether `__schema` and `__type` are answered. */
  introspection: boolean;
  /** The API schema, for the subscription path (Apollo's plugins get it with the request). */
  schema: () => GraphQLSchema;
  /** The supergraph's `@listSize`s, which the cost estimate multiplies by. */
  listSizes: () => ListSizes;
}

export const DEFAULT_MAX_ROOT_FIELDS = 15;

/** Whether a failed parse was the token limit (graphql-js's own error does not say so in a field). */
function hitTokenLimit(context: GraphQLRequestContextWillSendResponse<GatewayContext>, maxTokens: number) {
  const parseFailed = context.errors?.some((error) => error.extensions.code === 'GRAPHQL_PARSE_FAILED');
  return (
    parseFailed === true && context.source !== undefined && countTokens(context.source, maxTokens) > maxTokens
  );
}

/** Replaces a single response's body with one refusal, carrying the request id. */
function replaceWith(
  context: GraphQLRequestContextWillSendResponse<GatewayContext>,
  { message, extensions }: { message: string; extensions: Record<string, unknown> },
) {
  context.response.body = {
    kind: 'single',
    singleResult: {
      errors: [{ message, extensions: { ...extensions, requestId: context.contextValue.requestId } }],
    },
  };
}

/**
 * Depth, aliases, root fields, tokens and estimated cost, checked before an operation is
 * planned: over HTTP and for queries over WebSocket/SSE in Apollo's `didResolveOperation`, for
 * subscriptions on the operation router's admit hook. Tokens are bounded inside the parsers
 * (Apollo's `parseOptions.maxTokens` here; the streaming transports' parseStreamingRequest, given
 * MAX_TOKENS), so an oversized document is never parsed in full nor validated. A response (or a
 * subscription event) whose JSON would pass `maxResponseBytes` is replaced by a refusal.
 */
export function useOperationLimits(options: OperationLimitsOptions): GatewayPlugin {
  const { maxTokens, maxResponseBytes } = options;
  return {
    name: 'operation-limits',
    apolloSettings: { parseOptions: { maxTokens }, introspection: options.introspection },
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ schema, document, operationName, request }) {
            const refusal = checkOperationLimits(
              schema,
              options.listSizes(),
              document,
              operationName,
              request.variables,
              options,
            );
            if (refusal) throw httpRefusal(refusal);
          },
          // Replaces the parser's generic syntax error with one that names the limit, and an
          // oversized response with a refusal. It must run before the plugins that read the
          // response (index.ts orders them).
          async willSendResponse(context) {
            if (hitTokenLimit(context, maxTokens)) return replaceWith(context, tokenLimitRefusal(maxTokens));
            const { body } = context.response;
            if (body.kind === 'single' && jsonLongerThan(body.singleResult, maxResponseBytes)) {
              context.response.http.status = 400;
              replaceWith(context, responseTooLarge(maxResponseBytes));
            }
          },
        };
      },
    },
    subscriptions: {
      admit: async (request) => {
        const refusal = checkOperationLimits(
          options.schema(),
          options.listSizes(),
          request.document,
          request.operationName,
          request.variables,
          options,
        );
        if (refusal) throw refusal;
      },
      observe: (_request, context) => ({
        result: (result: ExecutionResult): ExecutionResult => {
          if (!jsonLongerThan(result, maxResponseBytes)) return result;
          const { message, extensions } = responseTooLarge(maxResponseBytes);
          return {
            errors: [
              new GraphQLError(message, { extensions: { ...extensions, requestId: context.requestId } }),
            ],
          };
        },
      }),
    },
  };
}
