import { z } from 'zod';
import { accessTokenEnv } from '../common/identity/access-token';
import { ConfigError, env, loadConfig } from '../common/config/load-config';
import { commonEnv } from '../common/config/service-env';
import { sessionRevocationEnv } from '../common/identity/session-revocation';
import { type SubgraphName, SUBGRAPHS } from '../common/config/topology';
import { isAddressOrRange } from './auth/client-details';
import { DEFAULT_MAX_ROOT_FIELDS } from './plugins/operation-limits';
import { DEFAULT_APQ_REGISTRATION, DEFAULT_APQ_TTL_SECONDS } from './plugins/persisted-queries';
import { type BudgetLimit, DEFAULT_RATE_LIMIT_BUDGETS as BUDGETS } from './plugins/rate-limit';
import { DEFAULT_REQUEST_BODY } from './plugins/request-body';
import { DEFAULT_CIRCUIT_BREAKER } from './circuit-breaker';
import { DEFAULT_RETRY_POLICY, DEFAULT_SUBGRAPH_CONNECTION } from './signed-data-source';

/** A rate-limit budget written `POINTS/SECONDS`, e.g. `600/60`: 600 operations per minute. */
const budget = (defaults: BudgetLimit) => env.budget(defaults);

const subgraphUrlVariables = Object.fromEntries(
  SUBGRAPHS.map((s) => [s.urlVariable, env.url().default(s.defaultUrl)]),
) as {
  [K in (typeof SUBGRAPHS)[number]['urlVariable']]: z.ZodDefault<z.ZodURL>;
};

export const gatewayEnv = {
  ...commonEnv,
  GATEWAY_PORT: env.port(4000),
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default('gateway:'),
  ...subgraphUrlVariables,
  /** Development only: compose from the running subgraphs instead of the committed supergraph. */
  SUPERGRAPH_INTROSPECT: env.boolean(false),
  /** The supergraph file, watched: a new supergraph written there is served once it loads. */
  SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),
  /** Read the supergraph from this URL instead of SUPERGRAPH_PATH, polled with If-None-Match. */
  SUPERGRAPH_URL: env.url().optional(),
  /** How often SUPERGRAPH_URL is polled, and SUPERGRAPH_PATH checked where fs.watch says nothing. */
  SUPERGRAPH_POLL_INTERVAL_MS: env.int(10_000, 100),
  /** Health probes of subgraphs give up after this long, so /health/all always answers. */
  HEALTH_TIMEOUT_MS: env.int(2000, 100),
  /** Upstream graphql-ws sockets per subgraph; client subscriptions are multiplexed over them. */
  SUBSCRIPTION_SOCKETS_PER_SUBGRAPH: env.int(2, 1),
  SUBSCRIPTIONS_PER_CONNECTION: env.int(25, 1),
  SUBSCRIPTIONS_PER_USER: env.int(100, 1),
  /** Open WebSockets one client address may hold (per gateway process); the next upgrade gets 429. */
  WS_CONNECTIONS_PER_ADDRESS: env.int(100, 1),
  /** Ping interval on client and upstream WebSockets. */
  WS_KEEPALIVE_MS: env.int(12_000, 1000),
  /** A client WebSocket that sends no connection_init within this is closed with 4408. */
  WS_CONNECTION_INIT_TIMEOUT_MS: env.int(10_000, 100),
  /** A streaming client whose unsent data passes this is disconnected (slow consumer). */
  STREAM_MAX_BUFFERED_BYTES: env.int(1024 * 1024, 1024),
  /** How often a multipart HTTP subscription sends an empty part to show it is alive (Apollo Router: 5 s). */
  MULTIPART_HEARTBEAT_MS: env.int(5000, 100),
  /** Events one subscription may hold for a client reading slower than they come; then it is closed. */
  STREAM_MAX_QUEUED_EVENTS: env.int(1000, 1),
  ...accessTokenEnv,
  ...sessionRevocationEnv,
  /** Auth's public keys; unset means `/.well-known/jwks.json` at AUTH_URL's origin. */
  JWKS_URL: env.url().optional(),
  /** The key set is refreshed (in the background) when older than this. */
  JWKS_MAX_AGE_MS: env.int(5 * 60_000, 1000),
  /** Least time between two JWKS fetches; auth's JWT_KEY_ACTIVATION_DELAY_SECONDS must exceed it. */
  JWKS_COOLDOWN_MS: env.int(5_000),
  JWKS_TIMEOUT_MS: env.int(2_000, 100),
  /**
   * Addresses and CIDR ranges of our own proxies in front of the gateway: only through them does
   * X-Forwarded-For give the client address (e.g. `10.0.0.0/8, 127.0.0.1`).
   */
  TRUSTED_PROXIES: env
    .list()
    .refine((entries) => entries.every(isAddressOrRange), 'each entry must be an IP address or CIDR range'),
  /** How often open subscriptions are checked for a revoked session. */
  SESSION_WATCH_INTERVAL_MS: env.int(5_000, 50),

  // The edge: docs/gateway.md explains each of these.
  /** Browser origins allowed to call the API cross-origin (exact matches; `*` for any). */
  CORS_ORIGINS: env.list(),
  /** Largest request body; a bigger one is refused with 413 before it is parsed. */
  MAX_BODY_BYTES: env.int(DEFAULT_REQUEST_BODY.maxBytes, 1024),
  /** Operations in one batched HTTP request; 0 refuses batches. */
  MAX_BATCH_SIZE: env.int(DEFAULT_REQUEST_BODY.maxBatchSize),
  // MAX_DEPTH, MAX_ALIASES, MAX_TOKENS, MAX_COST, COST_LIST_SIZE_CAP, MAX_RESPONSE_BYTES: commonEnv.
  MAX_ROOT_FIELDS: env.int(DEFAULT_MAX_ROOT_FIELDS, 1),
  /** Unset: on, except when NODE_ENV is production. */
  INTROSPECTION: z.enum(['true', 'false']).optional(),
  /** The GraphiQL playground (gateway/playground); unset: on, except when NODE_ENV is production. */
  PLAYGROUND: z.enum(['true', 'false']).optional(),
  RATE_LIMIT_ENABLED: env.boolean(true),
  RATE_LIMIT_OPERATIONS: budget(BUDGETS.operations),
  /** sendMessage, regenerate, editMessage and Subscription.chat, per root field. */
  RATE_LIMIT_CHAT_SENDS: budget(BUDGETS.chatSends),
  /** login, register, refreshToken, requestPasswordReset, resetPassword. */
  RATE_LIMIT_AUTH_ATTEMPTS: budget(BUDGETS.authAttempts),
  RATE_LIMIT_SUBSCRIPTIONS: budget(BUDGETS.subscriptions),
  /** `apq`: Apollo's automatic persisted queries in Redis; `safelist`: only the manifest's operations. */
  PERSISTED_QUERIES: z.enum(['off', 'apq', 'safelist']).default('apq'),
  /**
   * A `{ "<sha256>": "<query>" }` file, as graphql-codegen's persisted documents write it: required
   * with `safelist`; with `apq`, its operations are found by hash for anyone, anonymous callers included.
   */
  PERSISTED_QUERIES_MANIFEST: z.string().optional(),
  APQ_TTL_SECONDS: env.int(DEFAULT_APQ_TTL_SECONDS, 1),
  /** Largest document APQ stores, in bytes as sent (comments included); larger ones run, unstored. */
  APQ_MAX_DOCUMENT_BYTES: env.int(DEFAULT_APQ_REGISTRATION.maxDocumentBytes, 256),
  /** Documents one signed-in caller may register through APQ per window; anonymous callers, none. */
  APQ_REGISTRATIONS: budget(DEFAULT_APQ_REGISTRATION.perCaller),
  /** A subgraph request that has not answered by then fails (subscriptions are not bound by it). */
  SUBGRAPH_TIMEOUT_MS: env.int(DEFAULT_SUBGRAPH_CONNECTION.timeoutMs, 100),
  /** Kept-alive connections per subgraph, reused across requests. */
  SUBGRAPH_MAX_SOCKETS: env.int(DEFAULT_SUBGRAPH_CONNECTION.maxSockets, 1),
  /** Retries of a query's subgraph fetch that could not reach the subgraph (never a mutation's); 0: none. */
  SUBGRAPH_RETRIES: env.int(DEFAULT_RETRY_POLICY.retries),
  /** The first retry waits a random time up to this, each next one up to twice as long. */
  SUBGRAPH_RETRY_BASE_MS: env.int(DEFAULT_RETRY_POLICY.baseDelayMs, 1),
  SUBGRAPH_RETRY_MAX_MS: env.int(DEFAULT_RETRY_POLICY.maxDelayMs, 1),
  /** Consecutive unreachable attempts that open a subgraph's circuit: its requests then fail at once. */
  SUBGRAPH_BREAKER_FAILURES: env.int(DEFAULT_CIRCUIT_BREAKER.failureThreshold, 1),
  /** How long an open circuit fails requests at once before one request probes the subgraph. */
  SUBGRAPH_BREAKER_COOLDOWN_MS: env.int(DEFAULT_CIRCUIT_BREAKER.cooldownMs, 50),
  METRICS_ENABLED: env.boolean(true),
  /**
   * Bearer token required by /metrics and /health/all (at least 16 characters). Required in
   * production; elsewhere, unset (or empty) leaves them open.
   */
  OPERATOR_TOKEN: z.string().min(16).optional(),
  ACCESS_LOG_ENABLED: env.boolean(true),
  /**
   * Apollo Gateway's own telemetry, which @apollo/gateway turns on unless this is `true`: when the
   * gateway is built it probes the cloud metadata endpoints (AWS, Azure, GCP, Alibaba), then sends the
   * host's details to Apollo's servers every hour and on shutdown. Off here unless set to `false`: a
   * self-hosted gateway calls no third party its operator did not configure.
   */
  APOLLO_TELEMETRY_DISABLED: env.boolean(true),
  // TRACING_ENABLED, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME: commonEnv (common/telemetry/tracing.ts).
};

/** PERSISTED_QUERIES with its manifest, typed by mode: a safelist always has one. */
export type PersistedQueriesConfig =
  | { mode: 'off' }
  | { mode: 'apq'; manifest?: string }
  | { mode: 'safelist'; manifest: string };

/** The persisted-queries mode and manifest as one value; undefined for a safelist without a manifest. */
function persistedQueriesOf(config: {
  PERSISTED_QUERIES: PersistedQueriesConfig['mode'];
  PERSISTED_QUERIES_MANIFEST?: string;
}): PersistedQueriesConfig | undefined {
  const { PERSISTED_QUERIES: mode, PERSISTED_QUERIES_MANIFEST: manifest } = config;
  if (mode === 'off') return { mode };
  if (mode === 'apq') return { mode, manifest };
  return manifest ? { mode, manifest } : undefined;
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(gatewayEnv, source);
  const problems: string[] = [];
  const persistedQueries = persistedQueriesOf(config);
  if (!persistedQueries) {
    problems.push('PERSISTED_QUERIES_MANIFEST: required when PERSISTED_QUERIES=safelist');
  }
  // /metrics and /health/all tell an outsider how the platform is built and how it is doing; an
  // empty value (docker-compose's `${OPERATOR_TOKEN:-}`) is no token.
  if (config.NODE_ENV === 'production' && !config.OPERATOR_TOKEN) {
    problems.push(
      'OPERATOR_TOKEN: required when NODE_ENV=production, to guard /metrics and /health/all (openssl rand -hex 24)',
    );
  }
  if (config.SUPERGRAPH_INTROSPECT && config.SUPERGRAPH_URL) {
    problems.push('SUPERGRAPH_URL: not with SUPERGRAPH_INTROSPECT=true, which composes from the subgraphs');
  }
  if (problems.length > 0 || !persistedQueries) throw new ConfigError(problems);
  return { ...config, persistedQueries };
}

/** Introspection is on unless turned off, and off by default in production. */
export const introspectionEnabled = (config: GatewayConfig): boolean =>
  config.INTROSPECTION === undefined ? config.NODE_ENV !== 'production' : config.INTROSPECTION === 'true';

export const jwksUrl = (config: GatewayConfig): string =>
  config.JWKS_URL ?? new URL('/.well-known/jwks.json', config.AUTH_URL).toString();

/** Where the gateway reaches each subgraph, by name. */
export const subgraphUrls = (config: GatewayConfig): Record<SubgraphName, string> =>
  Object.fromEntries(SUBGRAPHS.map(({ name, urlVariable }) => [name, config[urlVariable]])) as Record<
    SubgraphName,
    string
  >;
