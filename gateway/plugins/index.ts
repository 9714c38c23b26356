import type { ApolloServerPlugin } from '@apollo/server';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import type { ListSizes } from '../../common/graphql/list-size';
import type { AccessRules } from '../../common/identity/access-rules';
import type { Logger } from '../../common/logging/logger';
import type { CircuitState } from '../circuit-breaker';
import type { SupergraphStatus } from '../supergraph/current';
import type { GatewayContext } from '../context';
import type { SubscriptionHooks, SubscriptionObserver } from '../transports/operation-router';
import { useAccessLog } from './access-log';
import { useEdgeAuthorization } from './edge-authorization';
import { useErrorMasking } from './error-masking';
import { DEFAULT_HTTP_SECURITY, type HttpSecurityOptions, useHttpSecurity } from './http-security';
import { DEFAULT_METRICS, type MetricsOptions, useMetrics } from './metrics';
import { DEFAULT_OPERATION_LIMITS } from '../../common/graphql/operation-limits';
import { DEFAULT_MAX_ROOT_FIELDS, type OperationLimitsOptions, useOperationLimits } from './operation-limits';
import { useOperationResolution } from './operation-resolution';
import { OPERATOR_PATHS, useOperatorAccess } from './operator-access';
import {
  type ApqRegistration,
  DEFAULT_APQ_REGISTRATION,
  DEFAULT_APQ_TTL_SECONDS,
  type Safelist,
  usePersistedQueries,
} from './persisted-queries';
import type { SubgraphFetch } from '../signed-data-source';
import { type ApolloSettings, type GatewayPlugin, optionsOf, type Toggle } from './plugin';
import { type Budget, type BudgetLimit, DEFAULT_RATE_LIMIT_BUDGETS, useRateLimit } from './rate-limit';
import { DEFAULT_REQUEST_BODY, type RequestBodyOptions, useRequestBody } from './request-body';
import { useRequestId } from './request-id';
import { useSubscriptionProtocol } from './subscription-protocol';
import { useTracing } from './tracing';

/** What the edge plugins need from the gateway around them. */
export interface EdgeDependencies {
  logger: Logger;
  /** The gateway's Redis (rate limits, the APQ cache). */
  redis: Redis;
  /** The current API schema. */
  schema: () => GraphQLSchema;
  /** The current supergraph's `@listSize`s. */
  listSizes: () => ListSizes;
  /** The current supergraph's `@authenticated`/`@requiresScopes`. */
  accessRules: () => AccessRules;
  /** The supergraph served and the reloads since boot (gateway/supergraph/). */
  supergraph: () => SupergraphStatus | undefined;
  subgraphs: readonly string[];
  upstreamSubscriptions: (subgraph: string) => number;
  /** Each subgraph's circuit (gateway/circuit-breaker.ts). */
  circuitState: (subgraph: string) => CircuitState;
}

/** Each feature of the edge: off, on with its defaults, or on with options over them. */
export interface EdgeFeatures {
  /** Continue a caller's `traceparent` and pass the trace on to the subgraphs: on unless false. */
  tracing?: boolean;
  httpSecurity?: Toggle<Partial<HttpSecurityOptions>>;
  requestBody?: Partial<RequestBodyOptions>;
  /** A bearer token for `/metrics` and `/health/all`; none leaves them open. */
  operatorToken?: string;
  /** APQ (with a safelist answering lookups first, when given), or a safelist alone. */
  persistedQueries?: Toggle<
    | { mode?: 'apq'; ttlSeconds?: number; registration?: Partial<ApqRegistration>; safelist?: Safelist }
    | { mode: 'safelist'; safelist: Safelist }
  >;
  operationLimits?: Toggle<Partial<Omit<OperationLimitsOptions, 'schema' | 'listSizes'>>>;
  rateLimit?: Toggle<{ budgets?: Partial<Record<Budget, BudgetLimit>> }>;
  metrics?: Toggle<Partial<Pick<MetricsOptions, 'path' | 'maxOperationNames' | 'processMetrics'>>>;
  accessLog?: boolean;
  /** Errors never name what the client did not write ("Did you mean …?"): on in production. */
  hideSuggestions?: boolean;
  /** The GraphiQL playground (gateway/playground): routes of its own, placed after the edge's plugins. */
  playground?: GatewayPlugin;
}

/**
 * The one place the order of the gateway's plugins is decided. Express runs their middleware
 * in this order, Apollo calls their hooks in it, and on the subscription path each `admit` runs
 * in it and each observer sees the results of the one before.
 */
export function gatewayPlugins(deps: EdgeDependencies, features: EdgeFeatures): GatewayPlugin[] {
  const httpSecurity = optionsOf(features.httpSecurity, DEFAULT_HTTP_SECURITY);
  const persisted = features.persistedQueries === true ? {} : features.persistedQueries || undefined;
  const limits = optionsOf(features.operationLimits, {
    ...DEFAULT_OPERATION_LIMITS,
    maxRootFields: DEFAULT_MAX_ROOT_FIELDS,
    introspection: true,
  });
  const rateLimit = optionsOf<{ budgets?: Partial<Record<Budget, BudgetLimit>> }>(features.rateLimit, {});
  const metricsOptions = optionsOf(features.metrics, DEFAULT_METRICS);
  const metrics = metricsOptions
    ? useMetrics({
        ...metricsOptions,
        schema: deps.schema,
        subgraphs: deps.subgraphs,
        upstreamSubscriptions: deps.upstreamSubscriptions,
        circuitState: deps.circuitState,
        supergraph: deps.supergraph,
      })
    : undefined;
  const plugins: (GatewayPlugin | undefined)[] = [
    // The caller's trace context around everything after it.
    features.tracing === false ? undefined : useTracing(),
    // Preflights are answered, and headers set, before any work is done.
    httpSecurity && useHttpSecurity(httpSecurity),
    // Before the routes it guards.
    features.operatorToken
      ? useOperatorAccess({ token: features.operatorToken, paths: OPERATOR_PATHS })
      : undefined,
    // An id before anything can fail and need to report it.
    useRequestId(),
    // The body is bounded and parsed before anything reads it.
    useRequestBody({ ...DEFAULT_REQUEST_BODY, ...features.requestBody }),
    // Before the observers, so that they see what the client sees.
    useErrorMasking({ hideSuggestions: features.hideSuggestions ?? false }),
    // An operation that cannot be picked out is the client's error, before anything measures it.
    useOperationResolution(),
    // A subscription that reached Apollo (by hash, in a batch) is the client's protocol error, not a 500.
    useSubscriptionProtocol(),
    // A hash becomes its document (before Apollo parses it); on the subscription path the safelist
    // refuses before any limit is measured (Apollo runs didResolveOperation hooks together).
    persisted &&
      usePersistedQueries(
        persisted.mode === 'safelist'
          ? persisted
          : {
              mode: 'apq',
              redis: deps.redis,
              ttlSeconds: persisted.ttlSeconds ?? DEFAULT_APQ_TTL_SECONDS,
              registration: { ...DEFAULT_APQ_REGISTRATION, ...persisted.registration },
              safelist: persisted.safelist,
              logger: deps.logger,
            },
      ),
    // Its token refusal rewrites the response before the observers read it.
    limits && useOperationLimits({ ...limits, schema: deps.schema, listSizes: deps.listSizes }),
    // Always on, before planning: what the caller may not see is refused before any subgraph is asked.
    // After the limits, so that an operation over a bound is refused for that, whoever sends it.
    useEdgeAuthorization({ schema: deps.schema, accessRules: deps.accessRules }),
    rateLimit &&
      useRateLimit({
        redis: deps.redis,
        keyPrefix: 'rate-limit:',
        budgets: { ...DEFAULT_RATE_LIMIT_BUDGETS, ...rateLimit.budgets },
        onRefused: metrics?.countRateLimitRefusal,
      }),
    // Observers last: they record the final outcome.
    metrics,
    features.accessLog === false ? undefined : useAccessLog({ logger: deps.logger }),
    features.playground,
  ];
  return plugins.filter((plugin): plugin is GatewayPlugin => plugin !== undefined);
}

/** The plugins' parts, each where the gateway runs it. */
export interface Edge {
  everyRequest: RequestHandler[];
  routes: (app: Express) => void;
  graphqlRequest: (RequestHandler | ErrorRequestHandler)[];
  apolloPlugins: ApolloServerPlugin<GatewayContext>[];
  apolloSettings: ApolloSettings;
  subscriptions: SubscriptionHooks;
  subgraphFetch: (fetch: SubgraphFetch) => void;
  /** The persisted document of a hash (undefined without persisted queries, or for an unknown hash). */
  documentByHash: (sha256Hash: string) => Promise<string | undefined>;
  stop: () => Promise<void>;
}

const present = <T>(values: (T | undefined)[]): T[] =>
  values.filter((value): value is T => value !== undefined);

/** Splits ordered plugins into their parts; two plugins setting the same Apollo setting is a bug. */
export function composePlugins(plugins: readonly GatewayPlugin[]): Edge {
  const apolloSettings: Record<string, unknown> = {};
  for (const plugin of plugins) {
    for (const [key, value] of Object.entries(plugin.apolloSettings ?? {})) {
      if (key in apolloSettings)
        throw new Error(`Two gateway plugins set Apollo's ${key} (${plugin.name} and another)`);
      apolloSettings[key] = value;
    }
  }
  const admits = present(plugins.map((plugin) => plugin.subscriptions?.admit));
  const observes = present(plugins.map((plugin) => plugin.subscriptions?.observe));
  const openeds = present(plugins.map((plugin) => plugin.subscriptions?.opened));
  const fetchObservers = present(plugins.map((plugin) => plugin.subgraphFetch));
  const documentLookups = present(plugins.map((plugin) => plugin.documentByHash));
  if (documentLookups.length > 1) throw new Error('Two gateway plugins look up persisted documents');
  return {
    everyRequest: present(plugins.map((plugin) => plugin.everyRequest)),
    routes: (app) => plugins.forEach((plugin) => plugin.routes?.(app)),
    graphqlRequest: plugins.flatMap((plugin) => plugin.graphqlRequest ?? []),
    apolloPlugins: present(plugins.map((plugin) => plugin.apollo)),
    apolloSettings: apolloSettings as ApolloSettings,
    subscriptions: {
      admit: async (request, context) => {
        for (const admit of admits) await admit(request, context);
      },
      observe: (request, context): SubscriptionObserver => {
        const observers = observes.map((observe) => observe(request, context));
        return {
          result: (result) =>
            observers.reduce((current, observer) => observer.result?.(current) ?? current, result),
          end: () => observers.forEach((observer) => observer.end?.()),
        };
      },
      opened: (request, context) => openeds.forEach((opened) => opened(request, context)),
    },
    subgraphFetch: (fetch) => fetchObservers.forEach((observe) => observe(fetch)),
    documentByHash: documentLookups[0] ?? (async () => undefined),
    stop: async () => {
      for (const plugin of [...plugins].reverse()) await plugin.stop?.();
    },
  };
}
