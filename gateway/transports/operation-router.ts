import type { ApolloServer } from '@apollo/server';
import { type ExecutionResult, getOperationAST, GraphQLError, parse, type DocumentNode } from 'graphql';
import { AppError, toGraphQLError } from '../../common/errors';
import type { GatewayContext } from '../context';
import type { SubscriptionExecutor, SubscriptionResult } from '../subscriptions/executor';
import type { SubscriptionLimits } from '../subscriptions/limits';

export interface StreamingRequest {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** A request whose document has been parsed once, where it arrived. */
export interface ParsedStreamingRequest extends StreamingRequest {
  document: DocumentNode;
}

/** Parses where the request arrives; a syntax error is answered as a GraphQL error. */
export function parseStreamingRequest(
  request: StreamingRequest,
): ParsedStreamingRequest | readonly GraphQLError[] {
  if (typeof request.query !== 'string') return [new GraphQLError('query must be a string')];
  try {
    return { ...request, document: parse(request.query) };
  } catch (error) {
    return [error instanceof GraphQLError ? error : new GraphQLError('Could not parse the query')];
  }
}

export interface RouteOptions {
  /** The connection the operation arrived on, for the per-connection subscription limit. */
  connection: object;
  /** Ends a subscription with this error when it settles (a revoked session). */
  endWith?: Promise<GraphQLError>;
}

export type OperationRouter = (
  request: ParsedStreamingRequest,
  context: GatewayContext,
  options: RouteOptions,
) => Promise<SubscriptionResult>;

/** Releases a limit slot exactly once, however the iteration ends. */
function releasingOnEnd(result: SubscriptionResult, release: () => void): SubscriptionResult {
  if (!(Symbol.asyncIterator in result)) {
    release();
    return result;
  }
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const step = await result.next();
      if (step.done) release();
      return step;
    },
    return: async () => {
      release();
      return (await result.return?.()) ?? { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/**
 * What the streaming transports (graphql-ws, SSE) run: subscriptions through the federated
 * executor, within the subscription limits; queries and mutations through Apollo Server, so
 * they meet the same plugins as over HTTP.
 */
export function createOperationRouter(
  apollo: ApolloServer<GatewayContext>,
  executor: SubscriptionExecutor,
  limits: SubscriptionLimits,
): OperationRouter {
  return async (request, context, { connection, endWith }) => {
    const { document } = request;
    const operation = getOperationAST(document, request.operationName ?? undefined);
    if (operation?.operation === 'subscription') {
      let release: () => void;
      try {
        release = limits.open(connection, context.identity.userId);
      } catch (error) {
        return { errors: [toGraphQLError(error as AppError)] };
      }
      return releasingOnEnd(
        executor.subscribe({
          document,
          source: request.query,
          operationName: request.operationName,
          variables: request.variables,
          context,
          endWith,
        }),
        release,
      );
    }
    const response = await apollo.executeOperation(
      {
        query: request.query,
        operationName: request.operationName ?? undefined,
        variables: request.variables ?? undefined,
        extensions: request.extensions ?? undefined,
      },
      { contextValue: context },
    );
    if (response.body.kind !== 'single')
      return { errors: [new GraphQLError('Incremental delivery is not supported')] };
    return response.body.singleResult as ExecutionResult;
  };
}
