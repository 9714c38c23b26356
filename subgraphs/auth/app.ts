import type { EntityManager } from '@mikro-orm/postgresql';
import { createDatabase, migrate, pingDatabase } from '../../common/database';
import type { Logger } from '../../common/logger';
import { startSubgraphServer, type RunningSubgraph } from '../../common/subgraph-server';
import type { AuthConfig } from './config';
import { createAuthContext } from './context';
import { UserEntity } from './entities/user.entity';
import { authMigrations } from './migrations';
import { buildAuthSchema } from './schema';

/** Wires the auth subgraph: database (migrated), schema, server. Used by main.ts and tests. */
export async function startAuthSubgraph(config: AuthConfig, logger: Logger): Promise<RunningSubgraph> {
  const orm = await createDatabase({
    url: config.DATABASE_URL,
    schema: config.AUTH_DB_SCHEMA,
    entities: [UserEntity],
    migrations: authMigrations,
    logger,
  });
  try {
    await migrate(orm, config.AUTH_DB_SCHEMA);
    return await startSubgraphServer({
      name: 'auth',
      schema: await buildAuthSchema(),
      host: config.HOST,
      port: config.AUTH_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      healthChecks: { postgres: { check: () => pingDatabase(orm), critical: true } },
      createContext: (base) => createAuthContext(orm.em as EntityManager, base),
      onStop: () => orm.close(),
    });
  } catch (error) {
    await orm.close();
    throw error;
  }
}
