import { env, loadConfig } from '../../common/config/load-config';
import { type DatabaseOptions, migrate } from '../../common/stores/database';
import type { Logger } from '../../common/logging/logger';
import { authEnv } from '../../subgraphs/auth/config';
import { authMigrations } from '../../subgraphs/auth/store/migrations';
import { conversationEnv } from '../../subgraphs/conversation/config';
import { conversationMigrations } from '../../subgraphs/conversation/store/migrations';

/** The variables `npm run migrate` reads, with the services' own rules and defaults. */
export const migrationEnv = {
  LOG_LEVEL: env.logLevel(),
  DATABASE_URL: authEnv.DATABASE_URL,
  AUTH_DB_SCHEMA: authEnv.AUTH_DB_SCHEMA,
  CONVERSATION_DB_SCHEMA: conversationEnv.CONVERSATION_DB_SCHEMA,
};

export type MigrationConfig = ReturnType<typeof loadMigrationConfig>;
export const loadMigrationConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(migrationEnv, source);

async function migrateSchema(
  url: string,
  schema: string,
  migrations: DatabaseOptions['migrations'],
  logger: Logger,
): Promise<void> {
  // Hand-written migrations need no entity metadata.
  await migrate({ url, schema, entities: [], migrations, logger });
  logger.info({ schema, migrations: migrations.length }, 'schema up to date');
}

/**
 * Creates auth's and conversation's schemas and applies their pending migrations, each under the
 * schema-change advisory lock, as the services themselves do when they start.
 */
export async function migrateAll(config: MigrationConfig, logger: Logger): Promise<void> {
  await migrateSchema(config.DATABASE_URL, config.AUTH_DB_SCHEMA, authMigrations, logger);
  await migrateSchema(config.DATABASE_URL, config.CONVERSATION_DB_SCHEMA, conversationMigrations, logger);
}
