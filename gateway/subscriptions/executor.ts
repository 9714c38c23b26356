import {
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
  type ServiceMap,
} from '@apollo/gateway';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { FetchNode, PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import {
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  getOperationAST,
  getVariableValues,
  GraphQLError,
} from 'graphql';
import { AppError, toGraphQLError, upstreamUnavailable, withCode } from '../../common/errors/errors';
import {
  type Identity,
  IDENTITY_HEADER,
  operationDigest,
  signIdentity,
} from '../../common/identity/identity';
import { refusedFields } from '../../common/identity/operation-access';
import { traceTurn } from '../../common/logging/turn-trace';
import type { GatewayContext } from '../context';
import { compileEventProjection } from './event-projection';
import type { SupergraphPlanner } from './planner';
import type { UpstreamPool } from './upstream-pool';

/** The name under which each upstream event is fed into the per-event plan. */
const EVENT_SERVICE = '__subscription_event__';

export interface SubscriptionRequest {
  document: DocumentNode;
  /** The operation's source text: the plan cache key. */
  source: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  context: GatewayContext;
  /** Ends the subscription with this error when it settles (say, the session was revoked). */
  endWith?: Promise<GraphQLError>;
  /** Runs when the client reads so slowly that the subscription's event queue overflows. */
  onOverflow?: () => void;
}

export type SubscriptionResult = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

export interface SubscriptionExecutorOptions {
  /** The supergraph served now: a new subscription is planned on it (it changes as supergraphs are rolled out). */
  planner: () => SupergraphPlanner;
  upstream: UpstreamPool;
  /** The gateway's subgraph data sources, used for the entity fetches of each event. */
  dataSources: ServiceMap;
  identitySecret: string;
}

/** What an open subscription that a new supergraph no longer serves to its caller ends with: retryable. */
const supergraphChanged = (reason: string) =>
  toGraphQLError(
    new AppError(
      'SUPERGRAPH_CHANGED',
      `The gateway now serves a new supergraph, in which ${reason}; subscribe again`,
    ),
  );

/** An open subscription as a new supergraph sees it: what it asks, for whom, and how to end it. */
interface OpenSubscription {
  document: DocumentNode;
  operationName: string | undefined;
  identity: Identity;
  end: (error: GraphQLError) => void;
}

/** Why a new supergraph would not admit an open subscription now, if it would not. */
function unservable(planner: SupergraphPlanner, open: OpenSubscription): string | undefined {
  const [invalid] = planner.validate(open.document);
  if (invalid) return `this subscription does not validate (${invalid.message})`;
  const refused = refusedFields(
    planner.schema,
    planner.accessRules,
    open.document,
    open.operationName,
    open.identity,
  );
  if (refused.length > 0)
    return `this caller may not select ${refused.map((field) => field.path).join(', ')}`;
  return undefined;
}

/** The subgraph's socket dropped (say, its process died): retryable, naming the subgraph. */
const upstreamClosed = (subgraph: string) =>
  toGraphQLError(upstreamUnavailable(subgraph, 'The subscription ended upstream unexpectedly'));

/** graphql-ws rejects an iteration with the server's error list, or with the close event. */
function upstreamErrors(reason: unknown, subgraph: string): GraphQLError[] {
  if (Array.isArray(reason)) {
    return reason.map(
      (error: {
        message?: string;
        path?: readonly (string | number)[];
        extensions?: Record<string, unknown>;
      }) =>
        new GraphQLError(error.message ?? 'Subscription failed', {
          path: error.path,
          extensions: error.extensions,
        }),
    );
  }
  return [upstreamClosed(subgraph)];
}

function restNodes(rest: PlanNode | undefined): PlanNode[] {
  if (!rest) return [];
  return rest.kind === 'Sequence' ? rest.nodes : [rest];
}

/**
 * Federated subscriptions, which `@apollo/gateway` refuses to execute. The query planner splits
 * a subscription into a `primary` fetch (the owning subgraph's subscription) and the `rest`
 * (entity fetches elsewhere). The primary is opened over graphql-ws through the upstream pool,
 * carrying the signed identity; each event it yields is fed, as the result of that fetch, into
 * an ordinary plan `[primary, ...rest]` run by the gateway's own `executeQueryPlan`, so every
 * event is shaped exactly like ordinary execution (aliases, fragments, `@include`, errors). When
 * the primary serves the whole selection (no `rest`), an event is copied out by the subscription's
 * projection instead, which gives the same result for a fraction of the CPU and leaves every event
 * it cannot vouch for to the plan (event-projection.ts).
 */
export class SubscriptionExecutor {
  private readonly open = new Set<OpenSubscription>();

  constructor(private readonly options: SubscriptionExecutorOptions) {}

  subscribe(request: SubscriptionRequest): SubscriptionResult {
    const prepared = prepare(this.options.planner(), request);
    if ('refused' in prepared) return prepared.refused;
    const plan = planEvents(prepared, request);
    if ('refused' in plan) return plan.refused;
    const project = compileEventProjection(
      prepared.planner.apiSchema,
      request.document,
      prepared.operationName,
      prepared.variables,
      plan.subscription,
    );
    const upstream = this.openPrimary(plan.subscription.primary, prepared.variables, request);
    traceTurn('gateway.forwarded', request.context.requestId);
    // The turn trace (common/logging/turn-trace.ts) follows a reply by its generation, `generation(id)`'s
    // argument; `chat(input)`, which has none yet, by its request.
    const traceKey =
      typeof prepared.variables.id === 'string' ? prepared.variables.id : request.context.requestId;
    let end!: (error: GraphQLError) => void;
    const superseded = new Promise<GraphQLError>((resolve) => {
      end = resolve;
    });
    const open: OpenSubscription = {
      document: request.document,
      operationName: prepared.operationName,
      identity: request.context.identity,
      end,
    };
    this.open.add(open);
    return iterate(upstream, request.endWith ? Promise.race([request.endWith, superseded]) : superseded, {
      execute: (event) =>
        project?.(event) ?? executeEvent(event, plan.eventPlan, prepared, this.options.dataSources),
      subgraph: plan.subscription.primary.serviceName,
      forwarded: () => traceTurn('gateway.event-forwarded', traceKey),
      finished: () => this.open.delete(open),
    });
  }

  /**
   * A new supergraph is served. Each open subscription goes on with the plan it opened with (its
   * upstream is untouched) unless the new supergraph would not admit it now: its document no longer
   * validates against the new API schema, or the new access rules refuse its caller a field it
   * selects. That one ends with SUPERGRAPH_CHANGED, retryable. Returns how many were ended.
   */
  supergraphReplaced(planner: SupergraphPlanner): number {
    let ended = 0;
    for (const open of this.open) {
      const reason = unservable(planner, open);
      if (!reason) continue;
      this.open.delete(open);
      open.end(supergraphChanged(reason));
      ended += 1;
    }
    return ended;
  }

  /** Opens the primary subscription on its subgraph, with the caller's identity signed for it. */
  private openPrimary(
    primary: FetchNode,
    variables: Record<string, unknown>,
    request: SubscriptionRequest,
  ): AsyncIterableIterator<FormattedExecutionResult> {
    const primaryOperation = {
      query: primary.operation,
      operationName: primary.operationName,
      variables: Object.fromEntries((primary.variableUsages ?? []).map((name) => [name, variables[name]])),
    };
    const identity = signIdentity(request.context.identity, this.options.identitySecret, {
      audience: primary.serviceName,
      digest: operationDigest(primaryOperation),
    });
    return this.options.upstream.subscribe(
      primary.serviceName,
      { ...primaryOperation, extensions: { [IDENTITY_HEADER]: identity } },
      request.onOverflow,
    );
  }
}

/** A subscription refused before it opens: its errors are the whole result. */
interface Refused {
  refused: ExecutionResult;
}
const refused = (errors: readonly GraphQLError[]): Refused => ({ refused: { errors } });

/** A subscription that validates against the current supergraph, with its variables coerced. */
export interface PreparedSubscription {
  planner: SupergraphPlanner;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  requestContext: GatewayGraphQLRequestContext<GatewayContext>;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/** Validates the document, picks out its subscription and coerces its variables, as Apollo would for a query. */
export function prepare(
  planner: SupergraphPlanner,
  request: SubscriptionRequest,
): PreparedSubscription | Refused {
  const validationErrors = planner.validate(request.document);
  if (validationErrors.length > 0)
    return refused(validationErrors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')));
  const operationName = request.operationName ?? undefined;
  const operation = getOperationAST(request.document, operationName);
  if (!operation) return refused([new GraphQLError('Unknown operation')]);
  if (operation.operation !== 'subscription') {
    return refused([new GraphQLError('Only subscription operations are executed here')]);
  }
  const coerced = getVariableValues(
    planner.schema,
    operation.variableDefinitions ?? [],
    request.variables ?? {},
  );
  if (coerced.errors) return refused(coerced.errors.map((error) => withCode(error, 'BAD_USER_INPUT')));
  const variables = coerced.coerced;
  // executeQueryPlan reads only these members of Apollo's request context.
  const requestContext = {
    request: { query: request.source, operationName, variables },
    context: request.context,
    logger: request.context.logger,
    metrics: {},
    document: request.document,
    operation,
    operationName: operationName ?? null,
    schema: planner.schema,
    source: request.source,
  } as unknown as GatewayGraphQLRequestContext<GatewayContext>;
  const operationContext = buildOperationContext({
    schema: planner.schema,
    operationDocument: request.document,
    operationName,
  });
  return { planner, operationName, variables, requestContext, operationContext };
}

/** The subscription's plan (its primary fetch is the one to open), and the plan each of its events runs through. */
export function planEvents(
  prepared: PreparedSubscription,
  request: SubscriptionRequest,
): { subscription: SubscriptionNode; eventPlan: QueryPlan } | Refused {
  let plan: QueryPlan;
  try {
    plan = prepared.planner.plan(request.document, prepared.operationName, request.source);
  } catch (error) {
    return refused([
      error instanceof GraphQLError ? error : new GraphQLError('Could not plan the operation'),
    ]);
  }
  const node = plan.node;
  if (node?.kind !== 'Subscription') return refused([new GraphQLError('Could not plan the subscription')]);
  const primary = node.primary;
  const eventPlan: QueryPlan = {
    kind: 'QueryPlan',
    node: {
      kind: 'Sequence',
      nodes: [{ ...primary, serviceName: EVENT_SERVICE } satisfies FetchNode, ...restNodes(node.rest)],
    },
  };
  return { subscription: node, eventPlan };
}

/**
 * Runs one event through `[primary, ...rest]`, the event standing in for the primary fetch's result:
 * every event of a subscription with `rest`, and those its projection does not vouch for
 * (event-projection.ts).
 */
export async function executeEvent(
  event: FormattedExecutionResult,
  eventPlan: QueryPlan,
  prepared: PreparedSubscription,
  dataSources: ServiceMap,
): Promise<ExecutionResult> {
  const eventSource: GraphQLDataSource = {
    process: async () => ({ data: event.data ?? null, errors: event.errors }),
  };
  const serviceMap: ServiceMap = { ...dataSources, [EVENT_SERVICE]: eventSource };
  const { planner } = prepared;
  const result = await executeQueryPlan(
    eventPlan,
    serviceMap,
    prepared.requestContext,
    prepared.operationContext,
    planner.supergraphSchema,
    planner.apiSchema,
  );
  return {
    data: result.data as ExecutionResult['data'],
    errors: result.errors as GraphQLError[] | undefined,
  };
}

interface EventHandling {
  execute: (event: FormattedExecutionResult) => ExecutionResult | Promise<ExecutionResult>;
  /** The subgraph of the primary subscription, named when its socket drops. */
  subgraph: string;
  forwarded: () => void;
  /** Runs once when the subscription ends, however it ends. */
  finished: () => void;
}

/**
 * The client's iterator over the upstream events, each executed, until the upstream ends, fails, or
 * `endWith` settles (a revoked session). A hand-written iterator rather than an async generator:
 * `return()` must reach the upstream at once, even while a `next()` is still waiting for an event.
 */
function iterate(
  upstream: AsyncIterableIterator<FormattedExecutionResult>,
  endWith: Promise<GraphQLError> | undefined,
  events: EventHandling,
): AsyncIterableIterator<ExecutionResult> {
  type Step =
    | { kind: 'event'; result: IteratorResult<FormattedExecutionResult> }
    | { kind: 'ended'; error: GraphQLError };
  // One reaction on `endWith` for the whole subscription: racing it afresh for every event would
  // leave a reaction per event on a promise that may never settle.
  let endedWith: GraphQLError | undefined;
  let wake: ((step: Step) => void) | undefined;
  void endWith?.then((error) => {
    endedWith = error;
    wake?.({ kind: 'ended', error });
  });
  const nextStep = (): Promise<Step> => {
    if (endedWith) return Promise.resolve({ kind: 'ended', error: endedWith });
    return new Promise<Step>((resolve, reject) => {
      wake = resolve;
      upstream.next().then((result) => resolve({ kind: 'event', result }), reject);
    }).finally(() => {
      wake = undefined;
    });
  };
  let finished = false;
  const markFinished = () => {
    if (finished) return;
    finished = true;
    events.finished();
  };
  const finish = (): IteratorResult<ExecutionResult> => {
    markFinished();
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      if (finished) return finish();
      try {
        const step = await nextStep();
        if (step.kind === 'ended') {
          markFinished();
          await upstream.return?.();
          return { done: false, value: { errors: [step.error] } };
        }
        if (step.result.done) return finish();
        const value = await events.execute(step.result.value);
        events.forwarded();
        return { done: false, value };
      } catch (reason) {
        markFinished();
        return { done: false, value: { errors: upstreamErrors(reason, events.subgraph) } };
      }
    },
    return: async () => {
      markFinished();
      await upstream.return?.();
      return finish();
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
