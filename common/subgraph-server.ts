import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';

import { useServer } from 'graphql-ws/use/ws';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { AppError, createErrorFormatter, toGraphQLError } from './errors';
import { checkHealth, type HealthCheck } from './health';
import { answerErrorsAsJson, utf8Only } from './http-errors';
import { IDENTITY_HEADER, type Identity, verifyIdentity } from './identity';
import type { Logger } from './logger';
import { REQUEST_ID_HEADER, requestIdPlugin } from './request-id';
import { subgraphGuard, type SubgraphGuardConfig } from './subgraph-guard';

/** What every resolver receives, whatever the subgraph. */
export interface BaseContext {
  identity: Identity;
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
  healthChecks: Record<string, HealthCheck>;
  /** Adds the subgraph's own per-request state (services, DataLoaders) to the base context. */
  createContext: (base: BaseContext) => Context;
  /** Serve subscriptions over graphql-ws on the same path (identity per subscribe message). */
  subscriptions?: boolean;
  /** Adds routes outside `/graphql` (no signed identity needed), e.g. auth's JWKS. */
  routes?: (app: express.Express) => void;
  /** Closes the subgraph's pools once HTTP and WebSocket have drained. */
  onStop?: () => Promise<void>;
  /** The limits it enforces on its own (common/subgraph-guard.ts): the service's config. */
  guard: SubgraphGuardConfig;
}

export interface RunningSubgraph {
  url: string;
  port: number;
  httpServer: Server;
  stop: () => Promise<void>;
}

/**
 * An Apollo Server 5 subgraph on Express 5 with `/health`, signed-identity enforcement on
 * `/graphql` (HTTP and WebSocket) and graceful shutdown. The protocol is in docs/protocol.md.
 */
export async function startSubgraphServer<Context extends BaseContext>(
  options: SubgraphServerOptions<Context>,
): Promise<RunningSubgraph> {
  const { name, schema, logger, identitySecret } = options;
  const guard = subgraphGuard(schema, options.guard);
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);

  const baseContext = (identity: Identity): BaseContext => ({
    identity,
    requestId: identity.requestId,
    logger: logger.child({ requestId: identity.requestId }),
  });

  let wsCleanup: { dispose: () => Promise<void> | void } | undefined;
  if (options.subscriptions) {
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
    const formatError = createErrorFormatter(logger);
    // The identity belongs to each subscribe message, not to the socket: one socket (the
    // gateway's) multiplexes many users' subscriptions, so it is read from the message itself.
    const identityOf = (payload: { extensions?: Record<string, unknown> | null }) =>
      verifyIdentity(payload.extensions?.[IDENTITY_HEADER] as string | undefined, identitySecret);
    wsCleanup = useServer(
      {
        schema,
        validate: guard.validate,
        onSubscribe: (_ctx, _id, payload) => {
          try {
            identityOf(payload);
          } catch (error) {
            return [toGraphQLError(error as AppError)];
          }
        },
        context: (_ctx, _id, payload) => options.createContext(baseContext(identityOf(payload))),
        // Errors in events get the same codes and masking as over HTTP.
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors
            ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) }
            : undefined,
        onError: (_ctx, _id, _payload, errors) => {
          logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
        },
      },
      wsServer,
    );
  }

  const apollo = new ApolloServer<Context>({
    schema,
    ...guard.apolloSettings,
    // runService (common/lifecycle.ts) owns SIGTERM/SIGINT: Apollo's own handler would stop the
    // server and send the signal again, which the lifecycle takes for an impatient second one.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      requestIdPlugin(),
      guard.plugin,
      ...(wsCleanup
        ? [{ serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) }]
        : []),
    ],
  });
  await apollo.start();

  app.get('/health', async (_req, res) => {
    const report = await checkHealth(options.healthChecks);
    res.status(report.status === 'down' ? 503 : 200).json({ service: name, ...report });
  });
  options.routes?.(app);

  app.use(
    '/graphql',
    utf8Only,
    express.json({ limit: '1mb' }),
    (req, res, next) => {
      try {
        res.locals.identity = verifyIdentity(req.header(IDENTITY_HEADER), identitySecret);
        res.setHeader(REQUEST_ID_HEADER, (res.locals.identity as Identity).requestId);
        next();
      } catch (error) {
        const appError = error as AppError;
        res
          .status(401)
          .json({ errors: [{ message: appError.message, extensions: { code: appError.code } }] });
      }
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

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await apollo.stop();
      await options.onStop?.();
    })());
  return { url, port, httpServer, stop };
}
