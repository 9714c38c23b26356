import type { Logger } from '../../../common/logging/logger';
import type { DatabaseOptions } from '../../../common/stores/database';
import type { ConversationConfig } from '../config';
import { conversationEntities } from './entities';
import { conversationMigrations } from './migrations';

/** The subgraph's PostgreSQL: where its schema lives, its tables and its migrations. */
export const conversationDatabase = (config: ConversationConfig, logger: Logger): DatabaseOptions => ({
  url: config.DATABASE_URL,
  schema: config.CONVERSATION_DB_SCHEMA,
  entities: conversationEntities,
  migrations: conversationMigrations,
  logger,
});
