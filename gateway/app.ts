import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createErrorFormatter } from '../common/errors';
import type { Logger } from '../common/logger';
import { createRedis } from '../common/redis';
import { REQUEST_ID_HEADER, requestIdFrom, requestIdPlugin } from '../common/request-id';
import { type GatewayConfig, subgraphUrl } from './config';
import type { GatewayContext } from './context';
import { platformHealth } from './health';
import { SignedDataSource } from './signed-data-source';
import { supergraphSource } from './supergraph';

export interface RunningGateway {
  url: string;
  port: number;
  httpServer: Server;
  stop: () => Promise<void>;
}

/** Wires the gateway: supergraph, signed subgraph fetches, health, HTTP. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphSource(config),
    buildService: ({ name, url }) =>
      new SignedDataSource(subgraphUrl(config, name) ?? (url as string), config.IDENTITY_SECRET),
    logger,
  });

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: createErrorFormatter(logger),
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), requestIdPlugin()],
  });
  try {
    await apollo.start();
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  app.get('/health', (_req, res) => {
    res.json({ service: 'gateway', status: 'ok' });
  });
  app.get('/health/all', async (_req, res) => {
    const report = await platformHealth(config, redis);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
        res.setHeader(REQUEST_ID_HEADER, requestId);
        return {
          requestId,
          identity: { userId: null, role: null, sessionId: null, requestId, issuer: 'gateway' },
          logger: logger.child({ requestId }),
        };
      },
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.GATEWAY_PORT, config.HOST, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}/graphql`;
  logger.info({ url }, 'gateway ready');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await apollo.stop();
      redis.disconnect();
    })());
  return { url, port, httpServer, stop };
}
