import { MikroORM, type Constructor, type EntityClass } from '@mikro-orm/core';
import { type Migration, Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { Logger } from './logger';
import { OrmLogger } from './orm-logger';

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
    loggerFactory: () => new OrmLogger(logger),
    discovery: { warnWhenNoEntities: false },
  });
  return orm;
}

/** Creates the service's schema if needed and applies pending migrations. */
/**
 * Key of the PostgreSQL advisory lock held while schemas change shape. Replicas starting together
 * migrate one at a time, and MikroORM's catalog reads never meet a schema being dropped.
 */
export const SCHEMA_CHANGE_LOCK = 7_307_117;

/** Runs `change` while holding the schema-change lock, on a connection of its own. */
export async function withSchemaChangeLock<T>(url: string, change: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SCHEMA_CHANGE_LOCK]);
    return await change();
  } finally {
    await client.end();
  }
}

/** Creates the service's schema if needed and applies pending migrations, under the schema-change lock. */
export async function migrate(orm: MikroORM<PostgreSqlDriver>, url: string, schema: string): Promise<void> {
  await withSchemaChangeLock(url, async () => {
    await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
    await orm.getMigrator().up();
  });
}

export async function pingDatabase(orm: MikroORM<PostgreSqlDriver>): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}
