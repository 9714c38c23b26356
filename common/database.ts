import { MikroORM, type Constructor, type EntityClass } from '@mikro-orm/core';
import { type Migration, Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { Logger } from './logger';

export interface DatabaseOptions {
  url: string;
  /**
   * The PostgreSQL schema this service owns. Every connection's search_path is set to it,
   * so migrations stay schema-agnostic and tests can run each file in a schema of its own.
   */
  schema: string;
  entities: EntityClass<unknown>[];
  migrations: { name: string; class: Constructor<Migration> }[];
  logger: Logger;
  poolSize?: number;
}

export async function createDatabase({
  url,
  schema,
  entities,
  migrations,
  logger,
  poolSize = 10,
}: DatabaseOptions): Promise<MikroORM<PostgreSqlDriver>> {
  const orm = await MikroORM.init<PostgreSqlDriver>({
    driver: PostgreSqlDriver,
    clientUrl: url,
    schema,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      // The snapshot reads the catalog of every schema in the database after each migration: of no
      // use with hand-written migrations, and it fails when another schema is dropped meanwhile.
      snapshot: false,
    },
    pool: { min: 0, max: poolSize },
    driverOptions: { connection: { options: `-c search_path=${schema}` } },
    allowGlobalContext: false,
    debug: false,
    logger: (message) => logger.debug({ orm: message }, 'mikro-orm'),
    discovery: { warnWhenNoEntities: false },
  });
  return orm;
}

/** Creates the service's schema if needed and applies pending migrations. */
export async function migrate(orm: MikroORM<PostgreSqlDriver>, schema: string): Promise<void> {
  await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
  await orm.getMigrator().up();
}

export async function pingDatabase(orm: MikroORM<PostgreSqlDriver>): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}
