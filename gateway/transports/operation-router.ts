import type { ApolloServer } from '@apollo/server';
import {
  type DocumentNode,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  type GraphQLFormattedError,
  Kind,
  parse,
} from 'graphql';
import {
  AppError,
  badRequest,
  internalError,
  toGraphQLError,
  withCode,
  withExtensions,
} from '../../common/errors/errors';
import type { GatewayContext } from '../context';
import { tokenLimitRefusal } from '../../common/graphql/operation-limits';
import { countTokens } from '../../common/graphql/operation-shape';
import { documentsByText } from '../../common/graphql/once-per-document';
import type { SubscriptionExecutor, SubscriptionResult } from '../subscriptions/executor';
import type { SubscriptionLimits } from '../subscriptions/limits';
import { traceTurn } from '../../common/logging/turn-trace';

/**
 * Why the operation to run cannot be picked out of a document (an unknown `operationName`, or
 * several operations and no name), as OPERATION_RESOLUTION_FAILURE; undefined when it can.
 */
export function operationResolutionFailure(
  document: DocumentNode,
  operationName: string | null | undefined,
): GraphQLError | undefined {
  if (getOperationAST(document, operationName)) return undefined;
  const operations = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  ).length;
  const message = operationName
    ? `Unknown operation named "${operationName}"`
    : operations > 1
      ? 'Must provide operationName when the document holds several operations'
      : 'The document holds no operation';
  return toGraphQLError(new AppError('OPERATION_RESOLUTION_FAILURE', message));
}

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
 * Documents parsed before, by their text, for each token bound (a gateway has one). Clients send the
 * same few subscription documents again and again; the same document object also lets the
 * executor's validation (SupergraphPlanner.validate) be done once per document.
 */
const parsersByTokenBound = new Map<number | undefined, (text: string) => DocumentNode>();
const parserFor = (maxTokens: number | undefined) => {
  let parser = parsersByTokenBound.get(maxTokens);
  if (!parser) {
    parser = documentsByText(1000, (text) => parse(text, { maxTokens }));
    parsersByTokenBound.set(maxTokens, parser);
  }
  return parser;
};

/**
 * Parses where the request arrives and picks out its operation; what fails is answered as coded
 * GraphQL errors, as over HTTP (GRAPHQL_PARSE_FAILED, OPERATION_RESOLUTION_FAILURE). The parser
 * stops at `maxTokens`, so an oversized document is never parsed in full, and is refused naming the limit.
 */
export function parseStreamingRequest(
  request: StreamingRequest,
  maxTokens?: number,
): ParsedStreamingRequest | readonly GraphQLError[] {
  if (typeof request.query !== 'string') return [toGraphQLError(badRequest('query must be a string'))];
  let document: DocumentNode;
  try {
    document = parserFor(maxTokens)(request.query);
  } catch (error) {
    // The parser stops at maxTokens with a plain syntax error; only then are the tokens counted.
    if (maxTokens !== undefined && countTokens(request.query, maxTokens) > maxTokens)
      return [tokenLimitRefusal(maxTokens)];
    return [
      error instanceof GraphQLError
        ? withCode(error, 'GRAPHQL_PARSE_FAILED')
        : toGraphQLError(new AppError('GRAPHQL_PARSE_FAILED', 'Could not parse the query')),
    ];
  }
  const unresolved = operationResolutionFailure(document, request.operationName);
  return unresolved ? [unresolved] : { ...request, document };
}

/**
 * An error Apollo Server has already formatted (coded, masked, with the request id), as a
 * GraphQLError: graphql-ws sends errors through their `toJSON()`, which here gives back exactly
 * what an HTTP client would have received.
 */
export class FormattedGraphQLError extends GraphQLError {
  constructor(private readonly formatted: GraphQLFormattedError) {
    super(formatted.message, { path: formatted.path, extensions: formatted.extensions });
  }

  override toJSON(): GraphQLFormattedError {
    return this.formatted;
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
  /**
   * Hears that a subscription opened: admitted, and its document valid against the supergraph (as
   * Apollo's `executionDidStart` for the other operations; persisted queries register it then).
   */
  opened?: (request: ParsedStreamingRequest, context: GatewayContext) => void;
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
    // Refused before any event (validation, variables): the observers see it as the client will.
    const single = observer.result ? observer.result(result) : result;
    end();
    return single;
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
 * they meet the same plugins as over HTTP. Whatever fails is that operation's result, never a
 * thrown error: a transport would end the whole connection for one (graphql-ws closes the socket
 * with 4500, and every other operation on it with it).
 */
export function createOperationRouter(
  apollo: ApolloServer<GatewayContext>,
  executor: SubscriptionExecutor,
  limits: SubscriptionLimits,
  hooks: SubscriptionHooks = {},
): OperationRouter {
  const route = routeOperation(apollo, executor, limits, hooks);
  return async (request, context, options) => {
    try {
      return await route(request, context, options);
    } catch (error) {
      context.logger.error({ err: error, operationName: request.operationName }, 'unexpected error');
      return { errors: [withExtensions(toGraphQLError(internalError()), { requestId: context.requestId })] };
    }
  };
}

function routeOperation(
  apollo: ApolloServer<GatewayContext>,
  executor: SubscriptionExecutor,
  limits: SubscriptionLimits,
  hooks: SubscriptionHooks,
): OperationRouter {
  return async (request, context, { connection, endWith, onSlowConsumer }) => {
    const { document } = request;
    const operation = getOperationAST(document, request.operationName ?? undefined);
    if (operation?.operation === 'subscription') {
      let release: () => void;
      try {
        // Side by side: the plugins' checks (rate limits in Redis among them) and the subscription
        // slot (Redis too) cost one round trip, not two. A refusal by the checks comes first and
        // gives the slot back.
        const [admission, slot] = await Promise.allSettled([
          hooks.admit?.(request, context),
          limits.open(connection, context.identity.userId),
        ]);
        if (admission.status === 'rejected') {
          if (slot.status === 'fulfilled') slot.value();
          throw admission.reason;
        }
        if (slot.status === 'rejected') throw slot.reason;
        release = slot.value;
        traceTurn('gateway.admitted', context.requestId);
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
      const subscribed = executor.subscribe({
        document,
        source: request.query,
        operationName: request.operationName,
        variables: request.variables,
        context,
        endWith,
        onOverflow: onSlowConsumer,
      });
      if (Symbol.asyncIterator in subscribed) hooks.opened?.(request, context);
      return releasingOnEnd(subscribed, release, hooks.observe?.(request, context));
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
    // Apollo's result carries formatted errors (plain objects); the transports' contract is GraphQLErrors.
    const { errors, ...result } = response.body.singleResult;
    return errors
      ? { ...result, errors: errors.map((error) => new FormattedGraphQLError(error)) }
      : (result as ExecutionResult);
  };
}
