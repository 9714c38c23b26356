import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';

import { createServer, type Server } from 'node:http';
import { keepClientConnectionsAlive } from './keep-alive';
import type { AddressInfo } from 'node:net';
import { AppError, createErrorFormatter } from '../errors/errors';
import { checkHealth, type HealthCheck, type HealthDetails } from './health';
import { GracefulShutdown } from './graceful-shutdown';
import { IDENTITY_HEADER, type Identity, invalidIdentity, type SignedOperation } from '../identity/identity';
import { type Caller, callerOf } from '../identity/caller';
import { IdentityVerifier, type NonceStore } from '../identity/identity-verifier';
import { answerErrorsAsJson, utf8Only } from '../errors/http-errors';
import type { Logger } from '../logging/logger';
import { REQUEST_ID_HEADER, requestIdPlugin } from './request-id';
import {
  DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS,
  serveSubgraphWebSocket,
  type SubgraphWebSocketLimits,
} from './subgraph-websocket';
import { subgraphGuard, type SubgraphGuardConfig } from './subgraph-guard';
import { operationSpans } from '../telemetry/operation-spans';
import { tracingRecorded } from '../telemetry/tracing';

/** What every resolver receives, whatever the subgraph. */
export interface BaseContext {
  /** Who is asking (common/identity/caller.ts): the first argument of every service method. */
  caller: Caller;
  requestId: string;
  logger: Logger;
}

export interface SubgraphServerOptions<Context extends BaseContext> {
  name: string;
  schema: GraphQLSchema;
  host: string;
  port: number;
  logger: Logger;
  identitySecret: string;
  /** Where the nonces of signed identities are remembered, shared by every replica (its Redis). */
  nonces: NonceStore;
  healthChecks: Record<string, HealthCheck>;
  /** Shown as `details` at `/health` and, per subgraph, in the gateway's `/health/all`. */
  healthDetails?: () => HealthDetails;
  /** Services (never the gateway) whose signed identities may call the subgraph's internal operations. */
  trustedServices?: readonly string[];
  /** Adds the subgraph's own per-request state (services, DataLoaders) to the base context. */
  createContext: (base: BaseContext) => Context;
  /**
   * Serve subscriptions over graphql-ws on the same path: a service identity in `connection_init`,
   * the user's in each subscribe message; `true` takes the default limits.
   */
  subscriptions?: boolean | SubgraphWebSocketLimits;
  /** Adds routes outside `/graphql` (no signed identity needed), e.g. auth's JWKS. */
  routes?: (app: express.Express) => void;
  /** Closes the subgraph's pools once HTTP and WebSocket have drained. */
  onStop?: () => Promise<void>;
  /** The limits it enforces on its own (common/server/subgraph-guard.ts): the service's config. */
  guard: SubgraphGuardConfig;
  /** How long stop() answers `/health` with 503 before closing the port (SHUTDOWN_DELAY_MS); none by default. */
  shutdownDelayMs?: number;
}

export interface RunningSubgraph {
  url: string;
  port: number;
  httpServer: Server;
  stop: () => Promise<void>;
}

/** What a POST body holds of the operation; anything else (a GET, a batch) binds to nothing and is refused. */
const operationIn = (method: string, body: unknown): SignedOperation =>
  method === 'POST' && body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as SignedOperation)
    : {};

/**
 * An Apollo Server 5 subgraph on Express 5 with `/health`, signed-identity enforcement on
 * `/graphql` (HTTP and WebSocket) and graceful shutdown (docs/scaling.md). The protocol is in docs/protocol.md.
 */
export async function startSubgraphServer<Context extends BaseContext>(
  options: SubgraphServerOptions<Context>,
): Promise<RunningSubgraph> {
  const { name, schema, logger, identitySecret } = options;
  const guard = subgraphGuard(schema, options.guard);
  const app = express();
  app.disable('x-powered-by');
  // Answers are POSTed GraphQL results nobody revalidates: hashing each for an ETag is wasted CPU.
  app.disable('etag');
  const httpServer = keepClientConnectionsAlive(createServer(app));

  const trustedServices = options.trustedServices ?? [];
  const baseContext = (identity: Identity): BaseContext => ({
    caller: callerOf(identity, trustedServices),
    requestId: identity.requestId,
    logger: logger.child({ requestId: identity.requestId }),
  });

  const verifier = new IdentityVerifier({ secret: identitySecret, audience: name, nonces: options.nonces });
  let wsCleanup: { dispose: () => Promise<void> | void } | undefined;
  if (options.subscriptions) {
    wsCleanup = serveSubgraphWebSocket({
      httpServer,
      path: '/graphql',
      schema,
      validate: guard.validate,
      logger,
      verifier,
      limits: options.subscriptions === true ? DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS : options.subscriptions,
      createContext: (identity) => options.createContext(baseContext(identity)),
    });
  }

  // A server span per operation, only where spans are recorded (common/telemetry/tracing.ts).
  const spans = tracingRecorded() ? operationSpans() : undefined;
  const apollo = new ApolloServer<Context>({
    schema,
    ...guard.apolloSettings,
    // runService (common/server/lifecycle.ts) owns SIGTERM/SIGINT: Apollo's own handler would stop the
    // server and send the signal again, which the lifecycle takes for an impatient second one.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // No type or field here has a cache hint, and Apollo's default cache-control plugin would wrap every
      // resolver of the schema to compute one per field of every response (docs/performance.md, "Twelfth round").
      ApolloServerPluginCacheControlDisabled(),
      requestIdPlugin(),
      guard.plugin,
      ...(spans ? [spans.plugin] : []),
      ...(wsCleanup
        ? [{ serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) }]
        : []),
    ],
  });
  await apollo.start();

  const shutdown = new GracefulShutdown(options.shutdownDelayMs ?? 0);
  app.get('/health', async (_req, res) => {
    if (shutdown.isDraining) {
      res.status(503).json({ service: name, status: 'draining' });
      return;
    }
    const report = await checkHealth(options.healthChecks);
    const details = options.healthDetails?.();
    res
      .status(report.status === 'down' ? 503 : 200)
      .json({ service: name, ...report, ...(details ? { details } : {}) });
  });
  options.routes?.(app);

  app.use(
    '/graphql',
    utf8Only,
    express.json({ limit: '1mb' }),
    ...(spans ? [spans.middleware] : []),
    (req, res, next) => {
      verifier.verifyOperation(req.header(IDENTITY_HEADER), operationIn(req.method, req.body)).then(
        (identity) => {
          res.locals.identity = identity;
          res.setHeader(REQUEST_ID_HEADER, identity.requestId);
          next();
        },
        (failure: unknown) => {
          const error = failure instanceof AppError ? failure : invalidIdentity();
          res
            .status(error.httpStatus)
            .json({ errors: [{ message: error.message, extensions: error.extensions }] });
        },
      );
    },
    expressMiddleware(apollo, {
      context: async ({ res }) => options.createContext(baseContext(res.locals.identity as Identity)),
    }),
  );

  answerErrorsAsJson(app, logger);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}/graphql`;
  logger.info({ url }, `${name} subgraph ready`);

  // Readiness fails first; then the port closes, WebSockets close with 1012 and in-flight requests finish.
  const stop = () =>
    shutdown.run(async () => {
      await apollo.stop();
      await options.onStop?.();
    });
  return { url, port, httpServer, stop };
}
