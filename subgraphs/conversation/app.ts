import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, migrate, pingDatabase } from '../../common/database';
import type { Logger } from '../../common/logger';
import { createRedis } from '../../common/redis';
import { startSubgraphServer, type RunningSubgraph } from '../../common/subgraph-server';
import type { ConversationConfig } from './config';
import { createConversationContext } from './context';
import { ConversationEntity } from './entities/conversation.entity';
import { conversationMigrations } from './migrations';
import { buildConversationSchema } from './schema';
import { createChromaClient } from './search/chroma-client';

/** Wires the conversation subgraph: database (migrated), Redis, Chroma, schema, server. */
export async function startConversationSubgraph(
  config: ConversationConfig,
  logger: Logger,
): Promise<RunningSubgraph> {
  const orm = await createDatabase({
    url: config.DATABASE_URL,
    schema: config.CONVERSATION_DB_SCHEMA,
    entities: [ConversationEntity],
    migrations: conversationMigrations,
    logger,
  });
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const chroma = createChromaClient(config.CHROMA_URL);
  const close = async () => {
    redis.disconnect();
    await orm.close();
  };
  try {
    await migrate(orm, config.CONVERSATION_DB_SCHEMA);
    return await startSubgraphServer({
      name: 'conversation',
      schema: await buildConversationSchema(),
      host: config.HOST,
      port: config.CONVERSATION_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      healthChecks: {
        postgres: { check: () => pingDatabase(orm), critical: true },
        redis: { check: () => redis.ping(), critical: false },
        chroma: { check: () => chroma.heartbeat(), critical: false },
      },
      createContext: (base) => createConversationContext(orm.em as EntityManager, base),
      onStop: close,
    });
  } catch (error) {
    await close();
    throw error;
  }
}
