import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type RequestHandler } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerErrorsAsJson } from '../common/errors/http-errors';
import type { Logger } from '../common/logging/logger';
import { createRedis } from '../common/stores/redis';
import { SharedSlots } from '../common/stores/shared-slots';
import { requestIdFrom } from '../common/server/request-id';
import { contextRefusal, createGatewayAuthentication } from './auth';
import { clientAddressOf, TrustedProxies } from './auth/client-details';
import { type GatewayConfig, subgraphUrls } from './config';
import type { ContextFactory, GatewayContext } from './context';
import { servedPlatformHealth } from './health';
import { composePlugins, gatewayPlugins } from './plugins';
import { edgeFeaturesFrom } from './plugins/from-config';
import { requestIdOf } from './request-id';
import { traceHeadersOf } from './trace-context';
import { SignedDataSource } from './signed-data-source';
import { SubscriptionExecutor } from './subscriptions/executor';
import { SubscriptionLimits } from './subscriptions/limits';
import { SupergraphPlanner } from './subscriptions/planner';
import { UpstreamPool } from './subscriptions/upstream-pool';
import { supergraphSource } from './supergraph';
import { createOperationRouter } from './transports/operation-router';
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

/**
 * Wires the gateway: supergraph, signed subgraph fetches, subscriptions, health, HTTP and
 * WebSocket, and the edge plugins (gateway/plugins) in the order gatewayPlugins decides.
 */
export interface GatewayOptions {
  /** The clock access tokens are checked against; the system clock by default. */
  now?: () => number;
}

export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  // First, so that a bad setting (an unreadable safelist) fails before any connection is opened.
  const features = edgeFeaturesFrom(config);
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const urls: Record<string, string> = subgraphUrls(config);
  const upstream = new UpstreamPool({
    urls,
    socketsPerSubgraph: config.SUBSCRIPTION_SOCKETS_PER_SUBGRAPH,
    keepAliveMs: config.WS_KEEPALIVE_MS,
    maxQueuedEvents: config.STREAM_MAX_QUEUED_EVENTS,
    identitySecret: config.IDENTITY_SECRET,
    logger,
  });
  const edge = composePlugins(
    gatewayPlugins(
      {
        logger,
        redis,
        schema: () => currentPlanner().schema,
        listSizes: () => currentPlanner().listSizes,
        subgraphs: Object.keys(urls),
        upstreamSubscriptions: (subgraph) => upstream.openSubscriptions(subgraph),
      },
      features,
    ),
  );
  const dataSource = (name: string, url: string) =>
    new SignedDataSource(url, config.IDENTITY_SECRET, {
      name,
      timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
      maxSockets: config.SUBGRAPH_MAX_SOCKETS,
      onFetch: edge.subgraphFetch,
    });
  const dataSources = Object.fromEntries(
    Object.entries(urls).map(([name, url]) => [name, dataSource(name, url)]),
  );
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphSource(config),
    buildService: ({ name, url }) => dataSources[name] ?? dataSource(name, url as string),
    logger,
  });
  let planner: SupergraphPlanner | undefined;
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    planner = new SupergraphPlanner(coreSupergraphSdl);
  });
  const currentPlanner = () => {
    if (!planner) throw new Error('The supergraph is not loaded yet');
    return planner;
  };

  const authentication = createGatewayAuthentication(config, logger, options.now);
  const trustedProxies = new TrustedProxies(config.TRUSTED_PROXIES);
  const createContext: ContextFactory = async (input) => {
    const id = requestIdFrom(input.requestId);
    return {
      requestId: id,
      identity: await authentication.identify(input, id),
      logger: logger.child({ requestId: id }),
      traceHeaders: input.traceHeaders,
    };
  };

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    ...edge.apolloSettings,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ...edge.apolloPlugins],
    // common/server/lifecycle.ts handles signals; Apollo's own handler would re-signal and look like a second Ctrl-C.
    stopOnTerminationSignals: false,
  });
  const userSlots = new SharedSlots(redis, {
    name: 'subscriptions',
    ttlMs: SUBSCRIPTION_SLOT_TTL_MS,
    logger,
  });
  const route = createOperationRouter(
    apollo,
    new SubscriptionExecutor({
      planner: currentPlanner,
      upstream,
      dataSources,
      identitySecret: config.IDENTITY_SECRET,
    }),
    new SubscriptionLimits({
      perConnection: config.SUBSCRIPTIONS_PER_CONNECTION,
      perUser: config.SUBSCRIPTIONS_PER_USER,
      userSlots,
    }),
    edge.subscriptions,
  );
  try {
    await apollo.start();
  } catch (error) {
    userSlots.close();
    redis.disconnect();
    authentication.stop();
    await edge.stop();
    throw error;
  }
  const webSocket = serveWebSocket({
    httpServer,
    path: '/graphql',
    schema: () => currentPlanner().schema,
    createContext,
    route,
    keepAliveMs: config.WS_KEEPALIVE_MS,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    maxMessageBytes: config.MAX_BODY_BYTES,
    maxTokens: config.MAX_TOKENS,
    watchSession: authentication.watchSession,
    connectionsPerAddress: config.WS_CONNECTIONS_PER_ADDRESS,
    clientAddress: (request) =>
      clientAddressOf(
        { ip: request.socket.remoteAddress, forwardedFor: request.headers['x-forwarded-for'] },
        trustedProxies,
      ),
    logger,
  });

  for (const handler of edge.everyRequest) app.use(handler);
  app.get('/health', (_req, res) => {
    res.json({ service: 'gateway', status: 'ok' });
  });
  const health = servedPlatformHealth(config, redis, logger);
  app.get('/health/all', async (_req, res) => {
    const report = await health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  const serveSse = sseHandler({
    schema: () => currentPlanner().schema,
    createContext,
    route,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    maxTokens: config.MAX_TOKENS,
    watchSession: authentication.watchSession,
    logger,
  });
  const serveMultipart = multipartHandler({
    createContext,
    route,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    maxTokens: config.MAX_TOKENS,
    heartbeatMs: config.MULTIPART_HEARTBEAT_MS,
    watchSession: authentication.watchSession,
    logger,
  });
  const sseWhenAccepted: RequestHandler = (req, res, next) =>
    acceptsEventStream(req.headers.accept) ? serveSse(req, res, next) : next();
  edge.routes(app);
  app.use(
    '/graphql',
    ...edge.graphqlRequest,
    sseWhenAccepted,
    serveMultipart,
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = requestIdOf(res);
        return createContext({
          authorization: req.headers.authorization,
          requestId,
          ip: req.socket.remoteAddress,
          forwardedFor: req.headers['x-forwarded-for'],
          userAgent: req.headers['user-agent'],
          traceHeaders: traceHeadersOf(req.headers),
        }).catch((error: unknown) => {
          throw contextRefusal(error, requestId);
        });
      },
    }),
  );
  answerErrorsAsJson(app, logger);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await webSocket.dispose();
      await apollo.stop();
      await upstream.dispose();
      for (const source of Object.values(dataSources)) source.close();
      await edge.stop();
      userSlots.close();
      redis.disconnect();
      authentication.stop();
    })());

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.GATEWAY_PORT, config.HOST, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // The port is taken, say: nothing opened so far may be left behind.
    await stop();
    throw error;
  }
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}/graphql`;
  logger.info({ url }, 'gateway ready');
  return { url, port, httpServer, upstream, stop };
}
