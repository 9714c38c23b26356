import type { Logger } from '../../../common/logging/logger';
import type { AuthConfig } from '../config';
import { authEntities } from './entities';
import { authMigrations } from './migrations';

/** Auth's schema as the server and the command line open and migrate it. */
export const authDatabaseOptions = (config: AuthConfig, logger: Logger) => ({
  url: config.DATABASE_URL,
  schema: config.AUTH_DB_SCHEMA,
  entities: authEntities,
  migrations: authMigrations,
  logger,
});
