import { RedisNonceStore } from '../../common/identity/identity-verifier';
import type { Logger } from '../../common/logging/logger';
import { startSubgraphServer, type RunningSubgraph } from '../../common/server/subgraph-server';
import { DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS } from '../../common/server/subgraph-websocket';
import type { ChatConfig } from './config';
import { type ChatOverrides, createChatRuntime } from './runtime';
import { buildChatSchema } from './schema';

/** Starts the chat subgraph: the pipeline (runtime.ts), then HTTP and graphql-ws on /graphql. */
export async function startChatSubgraph(
  config: ChatConfig,
  logger: Logger,
  overrides: ChatOverrides = {},
): Promise<RunningSubgraph> {
  const runtime = createChatRuntime(config, logger, overrides);
  try {
    await runtime.ready();
    const server = await startSubgraphServer({
      name: 'chat',
      schema: await buildChatSchema(),
      host: config.HOST,
      port: config.CHAT_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(runtime.redis),
      guard: config,
      healthChecks: { redis: { check: () => runtime.redis.ping(), critical: true } },
      createContext: (base) => ({ ...base, ...runtime.services }),
      subscriptions: { ...DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS, maxConnections: config.WS_MAX_CONNECTIONS },
      onStop: runtime.stop,
    });
    runtime.startRecovery();
    return server;
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}
