import { ApolloGateway, type SupergraphManager } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { type ExpressContextFunctionArgument, expressMiddleware } from '@as-integrations/express5';
import express, { type RequestHandler } from 'express';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { keepClientConnectionsAlive } from '../common/server/keep-alive';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { answerErrorsAsJson } from '../common/errors/http-errors';
import type { Logger } from '../common/logging/logger';
import { DisposalStack } from '../common/server/disposal-stack';
import { GracefulShutdown } from '../common/server/graceful-shutdown';
import { createRedis } from '../common/stores/redis';
import { SharedSlots } from '../common/stores/shared-slots';
import { requestIdFrom } from '../common/server/request-id';
import { acceptEnforcedSecurityFeatures } from '../common/graphql/supergraph';
import { contextRefusal, createGatewayAuthentication, type GatewayAuthentication } from './auth';
import { clientAddressOf, TrustedProxies } from './auth/client-details';
import { type GatewayConfig, subgraphUrls } from './config';
import { type ContextFactory, contextInputOf, type GatewayContext } from './context';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';
import { servedPlatformHealth } from './health';
import {
  composePlugins,
  type Edge,
  type EdgeDependencies,
  type EdgeFeatures,
  gatewayPlugins,
} from './plugins';
import { edgeFeaturesFrom } from './plugins/from-config';
import { requestIdOf } from './request-id';
import { SignedDataSource } from './signed-data-source';
import { SubscriptionExecutor } from './subscriptions/executor';
import { SubscriptionLimits } from './subscriptions/limits';
import { UpstreamPool } from './subscriptions/upstream-pool';
import { supergraphOf } from './supergraph';
import type { CurrentSupergraph } from './supergraph/current';
import { createOperationRouter, type OperationRouter } from './transports/operation-router';
import { multipartHandler } from './transports/multipart';
import { sseHandler } from './transports/sse';
import { serveWebSocket } from './transports/websocket';

export interface RunningGateway {
  url: string;
  port: number;
  httpServer: Server;
  upstream: UpstreamPool;
  stop: () => Promise<void>;
}

/** How long a dead replica's subscriptions still count against their users: three missed renewals. */
const SUBSCRIPTION_SLOT_TTL_MS = 15_000;

const acceptsEventStream = (accept: string | undefined) => accept?.includes('text/event-stream') ?? false;

export interface GatewayOptions {
  /** The clock access tokens are checked against; the system clock by default. */
  now?: () => number;
}

/**
 * The gateway's composition root: supergraph, signed subgraph fetches, subscriptions, health, HTTP
 * and WebSocket, and the edge plugins (gateway/plugins) in the order gatewayPlugins decides. Each
 * resource is registered on one disposal stack, which stop() and a failed start both unwind.
 */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  // First, so that a bad setting (an unreadable safelist) fails before any connection is opened.
  const features = edgeFeaturesFrom(config);
  // stop() and a failed start release in the reverse order: client sockets first, Redis and auth last.
  const shutdown = new GracefulShutdown(config.SHUTDOWN_DELAY_MS);
  return new DisposalStack(logger).build(async (stack) => {
    const authentication = stack.use(
      'authentication',
      createGatewayAuthentication(config, logger, options.now),
      (auth) => auth.stop(),
    );
    const redis = stack.use(
      'redis',
      createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger }),
      (client) => client.disconnect(),
    );
    const userSlots = stack.use(
      'subscription slots',
      new SharedSlots(redis, { name: 'subscriptions', ttlMs: SUBSCRIPTION_SLOT_TTL_MS, logger }),
      (slots) => slots.close(),
    );
    const urls: Record<string, string> = subgraphUrls(config);
    const { manager: supergraphManager, current: supergraph } = supergraphOf(config, logger);
    const breakers = subgraphBreakers(config, urls);
    const circuitState = (subgraph: string): CircuitState => breakers[subgraph]?.state ?? 'closed';
    const upstream = stack.use('upstream subscriptions', upstreamPool(config, urls, logger), (pool) =>
      pool.dispose(),
    );
    const edge = stack.use(
      'edge plugins',
      openEdge(config, logger, features, redis, supergraph, {
        upstreamSubscriptions: (subgraph) => upstream.openSubscriptions(subgraph),
        circuitState,
      }),
      (plugins) => plugins.stop(),
    );
    const dataSources = subgraphDataSources(config, urls, edge, breakers);
    stack.defer('subgraph connections', () => Object.values(dataSources).forEach((source) => source.close()));

    const app = express();
    app.disable('x-powered-by');
    const httpServer = keepClientConnectionsAlive(createServer(app));
    const apollo = new ApolloServer<GatewayContext>({
      gateway: federatedGateway(config, logger, urls, dataSources, edge, supergraph, supergraphManager),
      ...edge.apolloSettings,
      plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ...edge.apolloPlugins],
      // common/server/lifecycle.ts handles signals; Apollo's own handler would re-signal and look like a second Ctrl-C.
      stopOnTerminationSignals: false,
    });
    await apollo.start();
    stack.use('apollo', apollo, (server) => server.stop());

    const createContext = contextFactory(logger, authentication);
    const executor = new SubscriptionExecutor({
      planner: supergraph.planner,
      upstream,
      dataSources,
      identitySecret: config.IDENTITY_SECRET,
    });
    stack.defer(
      'supergraph listener',
      supergraph.onReplace((planner) => {
        const ended = executor.supergraphReplaced(planner);
        if (ended > 0)
          logger.warn({ ended }, 'subscriptions the new supergraph no longer validates were ended');
      }),
    );
    const route = createOperationRouter(
      apollo,
      executor,
      new SubscriptionLimits({
        perConnection: config.SUBSCRIPTIONS_PER_CONNECTION,
        perUser: config.SUBSCRIPTIONS_PER_USER,
        userSlots,
      }),
      edge.subscriptions,
    );
    stack.use(
      'websocket',
      serveWebSocket({
        httpServer,
        path: '/graphql',
        schema: () => supergraph.planner().schema,
        createContext,
        route,
        keepAliveMs: config.WS_KEEPALIVE_MS,
        connectionInitTimeoutMs: config.WS_CONNECTION_INIT_TIMEOUT_MS,
        maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
        maxMessageBytes: config.MAX_BODY_BYTES,
        maxTokens: config.MAX_TOKENS,
        watchSession: authentication.watchSession,
        connectionsPerAddress: config.WS_CONNECTIONS_PER_ADDRESS,
        clientAddress: clientAddressFrom(new TrustedProxies(config.TRUSTED_PROXIES)),
        logger,
      }),
      (webSocket) => webSocket.dispose(),
    );
    serveHttp(app, {
      config,
      logger,
      redis,
      edge,
      apollo,
      supergraph,
      createContext,
      route,
      authentication,
      circuitState,
      shutdown,
    });

    await listen(httpServer, config);
    const { port } = httpServer.address() as AddressInfo;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}/graphql`;
    logger.info({ url }, 'gateway ready');
    // Readiness fails first; after SHUTDOWN_DELAY_MS, SSE and multipart streams end with a retryable
    // error, WebSockets close with 1012, the port closes and in-flight requests finish.
    return { url, port, httpServer, upstream, stop: () => shutdown.run(() => stack.dispose()) };
  });
}

/** The edge plugins, in the order gatewayPlugins decides, split into their parts. */
function openEdge(
  config: GatewayConfig,
  logger: Logger,
  features: EdgeFeatures,
  redis: Redis,
  supergraph: CurrentSupergraph,
  subgraphState: Pick<EdgeDependencies, 'upstreamSubscriptions' | 'circuitState'>,
): Edge {
  return composePlugins(
    gatewayPlugins(
      {
        logger,
        redis,
        schema: () => supergraph.planner().schema,
        listSizes: () => supergraph.planner().listSizes,
        accessRules: () => supergraph.planner().accessRules,
        supergraph: supergraph.status,
        subgraphs: Object.keys(subgraphUrls(config)),
        ...subgraphState,
      },
      features,
    ),
  );
}

/** One circuit per subgraph, read by /metrics and /health/all. */
const subgraphBreakers = (config: GatewayConfig, urls: Record<string, string>) =>
  Object.fromEntries(
    Object.keys(urls).map((name) => [
      name,
      new CircuitBreaker({
        failureThreshold: config.SUBGRAPH_BREAKER_FAILURES,
        cooldownMs: config.SUBGRAPH_BREAKER_COOLDOWN_MS,
      }),
    ]),
  );

const subgraphDataSource = (
  config: GatewayConfig,
  edge: Edge,
  name: string,
  url: string,
  breaker?: CircuitBreaker,
) =>
  new SignedDataSource(url, config.IDENTITY_SECRET, {
    name,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    maxSockets: config.SUBGRAPH_MAX_SOCKETS,
    onFetch: edge.subgraphFetch,
    retry: {
      retries: config.SUBGRAPH_RETRIES,
      baseDelayMs: config.SUBGRAPH_RETRY_BASE_MS,
      maxDelayMs: config.SUBGRAPH_RETRY_MAX_MS,
    },
    breaker,
  });

/** One signed data source per subgraph, shared by Apollo's query plans and the subscriptions' entity fetches. */
const subgraphDataSources = (
  config: GatewayConfig,
  urls: Record<string, string>,
  edge: Edge,
  breakers: Record<string, CircuitBreaker>,
) =>
  Object.fromEntries(
    Object.entries(urls).map(([name, url]) => [
      name,
      subgraphDataSource(config, edge, name, url, breakers[name]),
    ]),
  );

const upstreamPool = (config: GatewayConfig, urls: Record<string, string>, logger: Logger) =>
  new UpstreamPool({
    urls,
    socketsPerSubgraph: config.SUBSCRIPTION_SOCKETS_PER_SUBGRAPH,
    keepAliveMs: config.WS_KEEPALIVE_MS,
    maxQueuedEvents: config.STREAM_MAX_QUEUED_EVENTS,
    identitySecret: config.IDENTITY_SECRET,
    logger,
  });

function federatedGateway(
  config: GatewayConfig,
  logger: Logger,
  urls: Record<string, string>,
  dataSources: Record<string, SignedDataSource>,
  edge: Edge,
  supergraph: CurrentSupergraph,
  manager: SupergraphManager,
): ApolloGateway {
  // The supergraph's @authenticated/@requiresScopes are enforced by the edge (plugins/edge-authorization.ts).
  acceptEnforcedSecurityFeatures();
  // @apollo/gateway reads its telemetry switch from the environment only, when it is constructed.
  process.env.APOLLO_TELEMETRY_DISABLED = String(config.APOLLO_TELEMETRY_DISABLED);
  const gateway = new ApolloGateway({
    supergraphSdl: manager,
    buildService: ({ name, url }) =>
      dataSources[name] ?? subgraphDataSource(config, edge, name, url ?? urls[name]),
    logger,
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => supergraph.load(coreSupergraphSdl));
  return gateway;
}

function contextFactory(logger: Logger, authentication: GatewayAuthentication): ContextFactory {
  return async (input) => {
    const id = requestIdFrom(input.requestId);
    return {
      requestId: id,
      identity: await authentication.identify(input, id),
      logger: logger.child({ requestId: id }),
      traceHeaders: input.traceHeaders,
    };
  };
}

const clientAddressFrom = (trustedProxies: TrustedProxies) => (request: IncomingMessage) =>
  clientAddressOf(
    { ip: request.socket.remoteAddress, forwardedFor: request.headers['x-forwarded-for'] },
    trustedProxies,
  );

/** Apollo's context for a request over HTTP; a caller it cannot identify is refused, naming the request. */
const httpContext =
  (createContext: ContextFactory) =>
  async ({ req, res }: ExpressContextFunctionArgument) => {
    const requestId = requestIdOf(res);
    return createContext(contextInputOf(req, { requestId })).catch((error: unknown) => {
      throw contextRefusal(error, requestId);
    });
  };

interface HttpParts {
  config: GatewayConfig;
  logger: Logger;
  redis: Redis;
  edge: Edge;
  apollo: ApolloServer<GatewayContext>;
  supergraph: CurrentSupergraph;
  createContext: ContextFactory;
  route: OperationRouter;
  authentication: GatewayAuthentication;
  circuitState: (subgraph: string) => CircuitState;
  shutdown: GracefulShutdown;
}

/** The HTTP routes: the edge's middleware, health, the plugins' routes, then `/graphql` (SSE, multipart or Apollo). */
function serveHttp(app: express.Express, parts: HttpParts): void {
  for (const handler of parts.edge.everyRequest) app.use(handler);
  app.get('/health', (_req, res) => {
    if (parts.shutdown.isDraining) res.status(503).json({ service: 'gateway', status: 'draining' });
    else res.json({ service: 'gateway', status: 'ok' });
  });
  const watchRestart = () => parts.shutdown.watchStream('gateway');
  const health = servedPlatformHealth(
    parts.config,
    parts.redis,
    parts.logger,
    parts.circuitState,
    parts.supergraph.status,
  );
  app.get('/health/all', async (_req, res) => {
    const report = await health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  const serveSse = sseHandler({
    schema: () => parts.supergraph.planner().schema,
    createContext: parts.createContext,
    route: parts.route,
    maxBufferedBytes: parts.config.STREAM_MAX_BUFFERED_BYTES,
    maxTokens: parts.config.MAX_TOKENS,
    watchSession: parts.authentication.watchSession,
    watchRestart,
    logger: parts.logger,
  });
  const serveMultipart = multipartHandler({
    createContext: parts.createContext,
    route: parts.route,
    maxBufferedBytes: parts.config.STREAM_MAX_BUFFERED_BYTES,
    maxTokens: parts.config.MAX_TOKENS,
    heartbeatMs: parts.config.MULTIPART_HEARTBEAT_MS,
    watchSession: parts.authentication.watchSession,
    watchRestart,
    documentByHash: parts.edge.documentByHash,
    logger: parts.logger,
  });
  const sseWhenAccepted: RequestHandler = (req, res, next) =>
    acceptsEventStream(req.headers.accept) ? serveSse(req, res, next) : next();
  parts.edge.routes(app);
  app.use(
    '/graphql',
    ...parts.edge.graphqlRequest,
    sseWhenAccepted,
    serveMultipart,
    expressMiddleware(parts.apollo, { context: httpContext(parts.createContext) }),
  );
  answerErrorsAsJson(app, parts.logger);
}

/** Listens on the configured port; a port already taken rejects (and the stack releases what was opened). */
const listen = (httpServer: Server, config: GatewayConfig) =>
  new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.GATEWAY_PORT, config.HOST, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
