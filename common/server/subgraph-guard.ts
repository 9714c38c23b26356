import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { printSubgraphSchema } from '@apollo/subgraph';
import { type DocumentNode, GraphQLError, type GraphQLSchema, validate } from 'graphql';
import { withoutSuggestions } from '../errors/errors';
import { fieldKey, type ListSize, listSizesOf } from '../graphql/list-size';
import {
  checkOperationLimits,
  jsonLongerThan,
  type OperationLimits,
  operationLimitsEnv,
  operationLimitsFrom,
  responseTooLarge,
} from '../graphql/operation-limits';

/** What a subgraph's guard reads from its configuration (every service has these, in commonEnv). */
export type SubgraphGuardConfig = { NODE_ENV: string } & { [K in keyof typeof operationLimitsEnv]: number };

/**
 * How far a subgraph's bounds are above the gateway's: the query planner sends each subgraph part
 * of an allowed operation, wrapped in `_entities` (one more level), with the key fields and
 * `__typename`s it needs added (more cost), and its own spelling of the document (more tokens).
 */
const PLAN_HEADROOM = { depth: 1, aliasFactor: 2, costFactor: 2, tokenFactor: 4 };

/** `_entities` returns one entity per representation sent. */
const ENTITIES_SIZE: ListSize = { slicingArguments: ['representations'] };

/** A refusal as an Apollo plugin throws it, with its HTTP status. */
const refusal = (error: GraphQLError) =>
  new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });

/**
 * A subgraph refuses on its own what the gateway would: depth, aliases, tokens and estimated cost
 * past the gateway's limits (with room for what the planner adds), and a response larger than
 * MAX_RESPONSE_BYTES; in production, introspection and "Did you mean …" suggestions too. A
 * request that reaches it some other way than through the gateway (a replayed identity, a
 * misbehaving caller on the internal network) meets the same bounds as the gateway's clients.
 * The list sizes are the subgraph's own `@listSize`s, the same the supergraph composes.
 */
export function subgraphGuard(schema: GraphQLSchema, config: SubgraphGuardConfig) {
  const gatewayLimits: OperationLimits = operationLimitsFrom(config);
  const limits = {
    ...gatewayLimits,
    maxDepth: gatewayLimits.maxDepth + PLAN_HEADROOM.depth,
    maxAliases: gatewayLimits.maxAliases * PLAN_HEADROOM.aliasFactor,
    maxCost: gatewayLimits.maxCost * PLAN_HEADROOM.costFactor,
    maxTokens: gatewayLimits.maxTokens * PLAN_HEADROOM.tokenFactor,
  };
  const production = config.NODE_ENV === 'production';
  const listSizes = new Map([
    ...listSizesOf(printSubgraphSchema(schema)),
    [fieldKey('Query', '_entities'), ENTITIES_SIZE],
  ]);
  const check = (
    document: DocumentNode,
    operationName?: string | null,
    variables?: Record<string, unknown>,
  ) => checkOperationLimits(schema, listSizes, document, operationName, variables, limits);

  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request }) {
          const refused = check(document, operationName, request.variables);
          if (refused) throw refusal(refused);
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (jsonLongerThan(result, limits.maxResponseBytes)) {
            const { message, extensions } = responseTooLarge(limits.maxResponseBytes);
            response.body.singleResult = { errors: [{ message, extensions }] };
            response.http.status = 400;
            return;
          }
          if (production && result.errors) {
            result.errors = result.errors.map((error) => ({
              ...error,
              message: withoutSuggestions(error.message),
            }));
          }
        },
      };
    },
  };

  return {
    /** Apollo Server's settings: the parser stops at the token bound; no introspection in production. */
    apolloSettings: {
      parseOptions: { maxTokens: limits.maxTokens },
      introspection: !production,
    } satisfies Partial<ApolloServerOptions<BaseContext>>,
    plugin,
    /** For graphql-ws (which has no variables at validation): graphql-js's rules, then the limits. */
    validate: (validatedSchema: GraphQLSchema, document: DocumentNode): GraphQLError[] => {
      const errors = validate(validatedSchema, document);
      const refused = errors.length === 0 ? check(document) : undefined;
      const all = refused ? [refused] : [...errors];
      return production
        ? all.map((error) => new GraphQLError(withoutSuggestions(error.message), error))
        : all;
    },
  };
}
