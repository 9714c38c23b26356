import type { ApolloServer } from '@apollo/server';
import { type ExecutionResult, getOperationAST, GraphQLError, parse, type DocumentNode } from 'graphql';
import { AppError, toGraphQLError } from '../../common/errors';
import type { GatewayContext } from '../context';
import { tokenLimitRefusal } from '../plugins/operation-limits';
import { countTokens } from '../plugins/operation-shape';
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

/**
 * Parses where the request arrives; a syntax error is answered as a GraphQL error. The parser
 * stops at `maxTokens`, so an oversized document is never parsed in full, and is refused naming the limit.
 */
export function parseStreamingRequest(
  request: StreamingRequest,
  maxTokens?: number,
): ParsedStreamingRequest | readonly GraphQLError[] {
  if (typeof request.query !== 'string') return [new GraphQLError('query must be a string')];
  try {
    return { ...request, document: parse(request.query, { maxTokens }) };
  } catch (error) {
    // The parser stops at maxTokens with a plain syntax error; only then are the tokens counted.
    if (maxTokens !== undefined && countTokens(request.query, maxTokens) > maxTokens)
      return [tokenLimitRefusal(maxTokens)];
    return [error instanceof GraphQLError ? error : new GraphQLError('Could not parse the query')];
  }
}

export interface RouteOptions {
  /** The connection the operation arrived on, for the per-connection subscription limit. */
  connection: object;
  /** Ends a subscription with this error when it settles (a revoked session). */
  endWith?: Promise<GraphQLError>;
  /** Disconnects a client too slow to read its subscription (its event queue overflowed). */
  onSlowConsumer?: () => void;
}

/** What the edge plugins (gateway/plugins) do on the subscription path, which Apollo's plugins do not see. */
export interface SubscriptionHooks {
  /** Runs before a subscription opens; a thrown AppError or GraphQLError refuses it (operation and rate limits). */
  admit?: (request: ParsedStreamingRequest, context: GatewayContext) => Promise<void>;
  /** Watches an opened subscription: may replace each event's result (error masking), and hears its end. */
  observe?: (request: ParsedStreamingRequest, context: GatewayContext) => SubscriptionObserver;
}

export interface SubscriptionObserver {
  result?: (result: ExecutionResult) => ExecutionResult;
  end?: () => void;
}

export type OperationRouter = (
  request: ParsedStreamingRequest,
  context: GatewayContext,
  options: RouteOptions,
) => Promise<SubscriptionResult>;

/** Releases a limit slot exactly once, however the iteration ends; the observer sees every result. */
function releasingOnEnd(
  result: SubscriptionResult,
  release: () => void,
  observer: SubscriptionObserver = {},
): SubscriptionResult {
  let released = false;
  const end = () => {
    if (released) return;
    released = true;
    release();
    observer.end?.();
  };
  if (!(Symbol.asyncIterator in result)) {
    end();
    return result;
  }
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const step = await result.next();
      if (step.done) end();
      else if (observer.result) return { done: false, value: observer.result(step.value) };
      return step;
    },
    return: async () => {
      end();
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
  hooks: SubscriptionHooks = {},
): OperationRouter {
  return async (request, context, { connection, endWith, onSlowConsumer }) => {
    const { document } = request;
    const operation = getOperationAST(document, request.operationName ?? undefined);
    if (operation?.operation === 'subscription') {
      let release: () => void;
      try {
        await hooks.admit?.(request, context);
        release = limits.open(connection, context.identity.userId);
      } catch (error) {
        const refusal =
          error instanceof AppError
            ? toGraphQLError(error)
            : error instanceof GraphQLError
              ? error
              : undefined;
        if (!refusal) throw error;
        // A refused subscription is still an operation: the observers log and count it.
        const observer = hooks.observe?.(request, context);
        const refused = observer?.result?.({ errors: [refusal] }) ?? { errors: [refusal] };
        observer?.end?.();
        return refused;
      }
      return releasingOnEnd(
        executor.subscribe({
          document,
          source: request.query,
          operationName: request.operationName,
          variables: request.variables,
          context,
          endWith,
          onOverflow: onSlowConsumer,
        }),
        release,
        hooks.observe?.(request, context),
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
