import type { Logger } from '../../common/logger';
import { createRedis } from '../../common/redis';
import { startSubgraphServer, type RunningSubgraph } from '../../common/subgraph-server';
import type { ChatConfig } from './config';
import { buildChatSchema } from './schema';
import { configuredModels } from './services/model-catalog';

/** Wires the chat subgraph: Redis (generation streams), the model catalogue, schema, server. */
export async function startChatSubgraph(config: ChatConfig, logger: Logger): Promise<RunningSubgraph> {
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const models = configuredModels(config);
  try {
    return await startSubgraphServer({
      name: 'chat',
      schema: await buildChatSchema(),
      host: config.HOST,
      port: config.CHAT_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      healthChecks: { redis: { check: () => redis.ping(), critical: true } },
      createContext: (base) => ({ ...base, models }),
      onStop: async () => void redis.disconnect(),
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}
