import type { GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { type DocumentNode, getOperationAST, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { GatewayContext } from '../context';
import { countTokens, fragmentsOf, measureOperation } from './operation-shape';
import type { GatewayPlugin } from './plugin';
import { httpRefusal, limitExceeded } from './refusals';

export interface OperationLimitsOptions {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  /** Tokens in the document; the parser stops at this many, so a huge document costs little. */
  maxTokens: number;
  maxCost: number;
  /** `first`/`last` values above this count as this much in the cost. */
  listSizeCap: number;
  /** Whether `__schema` and `__type` are answered. */
  introspection: boolean;
  /** The API schema, for the subscription path (Apollo's plugins get it with the request). */
  schema: () => GraphQLSchema;
}

export const DEFAULT_OPERATION_LIMITS = {
  maxDepth: 15,
  maxAliases: 30,
  maxRootFields: 15,
  maxTokens: 4000,
  maxCost: 20_000,
  listSizeCap: 100,
  introspection: true,
} satisfies Omit<OperationLimitsOptions, 'schema'>;

type Limits = Omit<OperationLimitsOptions, 'introspection' | 'schema'>;

/** The refusal of a document with more than `maxTokens` tokens, wherever it arrives. */
export const tokenLimitRefusal = (maxTokens: number) =>
  limitExceeded('tokens', maxTokens, `The document has more than ${maxTokens} tokens`);

/** The first limit an operation passes, as a refusal; undefined when it is within all of them. */
export function checkOperationLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: Limits,
): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const shape = measureOperation(
    schema,
    fragmentsOf(document),
    operation,
    variables ?? {},
    limits.listSizeCap,
  );
  const rootFields = [...shape.rootFields.values()].reduce((sum, times) => sum + times, 0);
  if (rootFields > limits.maxRootFields)
    return limitExceeded('rootFields', limits.maxRootFields, `At most ${limits.maxRootFields} root fields`);
  if (shape.depth > limits.maxDepth)
    return limitExceeded('depth', limits.maxDepth, `The operation is nested deeper than ${limits.maxDepth}`);
  if (shape.aliases > limits.maxAliases)
    return limitExceeded('aliases', limits.maxAliases, `At most ${limits.maxAliases} aliases`);
  if (shape.cost > limits.maxCost)
    return limitExceeded(
      'cost',
      limits.maxCost,
      `The operation's estimated cost ${shape.cost} is above ${limits.maxCost}`,
    );
  return undefined;
}

/** Whether a failed parse was the token limit (graphql-js's own error does not say so in a field). */
function hitTokenLimit(context: GraphQLRequestContextWillSendResponse<GatewayContext>, maxTokens: number) {
  const parseFailed = context.errors?.some((error) => error.extensions.code === 'GRAPHQL_PARSE_FAILED');
  return (
    parseFailed === true && context.source !== undefined && countTokens(context.source, maxTokens) > maxTokens
  );
}

/**
 * Depth, aliases, root fields, tokens and estimated cost, checked before an operation is
 * planned: over HTTP and for queries over WebSocket/SSE in Apollo's `didResolveOperation`, for
 * subscriptions on the operation router's admit hook. Tokens are bounded inside the parsers
 * (Apollo's `parseOptions.maxTokens` here; the streaming transports' parseStreamingRequest, given
 * MAX_TOKENS), so an oversized document is never parsed in full nor validated.
 */
export function useOperationLimits(options: OperationLimitsOptions): GatewayPlugin {
  const limits: Limits = options;
  return {
    name: 'operation-limits',
    apolloSettings: { parseOptions: { maxTokens: limits.maxTokens }, introspection: options.introspection },
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ schema, document, operationName, request }) {
            const refusal = checkOperationLimits(schema, document, operationName, request.variables, limits);
            if (refusal) throw httpRefusal(refusal);
          },
          // Replaces the parser's generic syntax error with one that names the limit. It must run
          // before the plugins that read the response (index.ts orders them).
          async willSendResponse(context) {
            if (!hitTokenLimit(context, limits.maxTokens)) return;
            const { message, extensions } = tokenLimitRefusal(limits.maxTokens);
            context.response.body = {
              kind: 'single',
              singleResult: {
                errors: [
                  { message, extensions: { ...extensions, requestId: context.contextValue.requestId } },
                ],
              },
            };
          },
        };
      },
    },
    subscriptions: {
      admit: async (request) => {
        const refusal = checkOperationLimits(
          options.schema(),
          request.document,
          request.operationName,
          request.variables,
          limits,
        );
        if (refusal) throw refusal;
      },
    },
  };
}
