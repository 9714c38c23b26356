import {
  type Configuration,
  type Constructor,
  DriverException,
  type EntityClass,
  MikroORM,
} from '@mikro-orm/core';
import { type Migration, Migrator } from '@mikro-orm/migrations';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { Logger } from '../logging/logger';
import { OrmLogger } from './orm-logger';
import { closeWhenServerUnresponsive } from './unresponsive-postgres';

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
  /**
   * Bounds of a request's wait on a PostgreSQL that is gone or frozen, so that it fails the request
   * (UPSTREAM_UNAVAILABLE, see common/errors/unavailable-dependency.ts) instead of hanging it. Unset, a
   * wait is unbounded (the command-line tools).
   */
  timeouts?: DatabaseTimeouts;
}

export interface DatabaseTimeouts {
  /** A statement without a byte from the server this long makes it check that the server answers at all. */
  stallTimeoutMs: number;
  /** The longest wait for a new connection, for a free one in the pool, and for that check. */
  connectTimeoutMs: number;
}

type Transaction = Awaited<ReturnType<PostgreSqlConnection['begin']>>;

/**
 * MikroORM turns the failure of a statement run through the entity manager into a DriverException
 * (with the driver's code), but lets others through raw: raw SQL run on the connection, a
 * connection that could not be taken for a transaction, and BEGIN, which knex even swallows,
 * failing the transaction's first statement instead with "Transaction query already complete".
 * Converted here, every error of the ORM is a DriverException carrying its real cause, which
 * common/errors/unavailable-dependency.ts recognises.
 */
class ErrorsConvertedConnection extends PostgreSqlConnection {
  protected override executeQuery<T>(
    ...args: [
      query: string,
      cb: () => Promise<T>,
      context?: Parameters<PostgreSqlConnection['executeQuery']>[2],
    ]
  ): Promise<T> {
    return this.converted(() => super.executeQuery(...args));
  }

  override async begin(options?: Parameters<PostgreSqlConnection['begin']>[0]): Promise<Transaction> {
    const trx = await this.converted(() => super.begin(options));
    if (trx.isCompleted()) {
      const cause: unknown = await trx.executionPromise.then(
        () => new Error('The transaction ended as it began'),
        (error: unknown) => error,
      );
      throw this.convert(cause);
    }
    return trx;
  }

  override commit(...args: Parameters<PostgreSqlConnection['commit']>): Promise<void> {
    return this.converted(() => super.commit(...args));
  }

  override rollback(...args: Parameters<PostgreSqlConnection['rollback']>): Promise<void> {
    return this.converted(() => super.rollback(...args));
  }

  private async converted<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      throw this.convert(error);
    }
  }

  private convert(error: unknown): unknown {
    // Shape, not `instanceof Error`: Node's own socket errors may come from another realm (jest's).
    const isError = typeof error === 'object' && error !== null && typeof (error as Error).stack === 'string';
    if (!isError || error instanceof DriverException) return error;
    return this.getPlatform()
      .getExceptionConverter()
      .convertException(error as Error);
  }
}

/** PostgreSqlDriver on the connection above (PostgreSqlDriver builds a PostgreSqlConnection, replaced here). */
class PostgresDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    Object.assign(this, { connection: new ErrorsConvertedConnection(this.config) });
  }
}

export async function createDatabase({
  url,
  schema,
  entities,
  migrations,
  logger,
  poolSize = 10,
  timeouts,
}: DatabaseOptions): Promise<MikroORM<PostgreSqlDriver>> {
  const orm = await MikroORM.init<PostgreSqlDriver>({
    driver: PostgresDriver,
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
    pool: {
      min: 0,
      max: poolSize,
      acquireTimeoutMillis: timeouts?.connectTimeoutMs,
      afterCreate:
        timeouts &&
        closeWhenServerUnresponsive({
          url,
          silenceMs: timeouts.stallTimeoutMs,
          probeTimeoutMs: timeouts.connectTimeoutMs,
        }),
    },
    driverOptions: {
      // knex's own notices (a dropped connection taken out of the pool) go to the service's log, not the console.
      log: {
        warn: (message: unknown) => logger.warn({ knex: String(message) }, 'knex'),
        error: (message: unknown) => logger.error({ knex: String(message) }, 'knex'),
        deprecate: (message: unknown) => logger.debug({ knex: String(message) }, 'knex'),
        debug: (message: unknown) => logger.debug({ knex: String(message) }, 'knex'),
      },
      connection: {
        options: `-c search_path=${schema}`,
        connectionTimeoutMillis: timeouts?.connectTimeoutMs,
      },
    },
    allowGlobalContext: false,
    // em.create only builds an entity: repositories insert it natively, and a queued entity would make a
    // later read of its kind flush, entering MikroORM's AsyncLocalStorage (see ./transaction.ts).
    persistOnCreate: false,
    debug: false,
    loggerFactory: () => new OrmLogger(logger),
    discovery: { warnWhenNoEntities: false },
  });
  return orm;
}

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

/**
 * Creates the service's schema if needed and applies pending migrations, under the schema-change
 * lock, on a connection of their own without the request timeouts: a migration may wait on a lock,
 * or rewrite a table, for longer than a request may wait.
 */
export async function migrate(options: Omit<DatabaseOptions, 'timeouts' | 'poolSize'>): Promise<void> {
  const orm = await createDatabase({ ...options, poolSize: 1 });
  try {
    await withSchemaChangeLock(options.url, async () => {
      await orm.em.getConnection().execute(`create schema if not exists "${options.schema}"`);
      await orm.getMigrator().up();
    });
  } finally {
    await orm.close();
  }
}

export async function pingDatabase(orm: MikroORM<PostgreSqlDriver>): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}
