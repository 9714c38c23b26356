import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { createDatabase } from '../../common/stores/database';
import { silentLogger } from '../../common/testing/logger';
import { startOwnPostgres, type OwnStore } from '../support/own-stores';
import { unavailableDependency } from '../../common/errors/unavailable-dependency';

const timeouts = { stallTimeoutMs: 500, connectTimeoutMs: 1_000 };

const open = (url: string, poolSize = 10) =>
  createDatabase({
    url,
    schema: 'public',
    entities: [],
    migrations: [],
    logger: silentLogger(),
    poolSize,
    timeouts,
  });

/** Runs `sql` in `em`'s transaction when it has one. */
const run = (em: EntityManager, sql: string) =>
  em.getConnection().execute(sql, [], 'run', em.getTransactionContext());

/** What `work` rejected with (a test fails on its value if it did not reject). */
const failureOf = (work: Promise<unknown>) => work.catch((error: unknown) => error);

describe('a PostgreSQL that goes away', () => {
  let postgres: OwnStore;
  let orm: MikroORM<PostgreSqlDriver>;
  beforeAll(async () => {
    postgres = await startOwnPostgres();
    // One connection, so that the second caller gets the connection the first one left.
    orm = await open(postgres.url, 1);
    await orm.em.getConnection().execute('create table if not exists notes (text text primary key)');
  }, 60_000);
  afterEach(async () => {
    postgres.thaw();
    await postgres.start();
  });
  afterAll(async () => {
    await orm?.close();
    await postgres?.dispose();
  });

  it('stopped: fails statements and transactions as postgres unavailable', async () => {
    await postgres.stop();

    const statement = await failureOf(orm.em.getConnection().execute('select 1'));
    // knex lets the failure to take a connection for a transaction through unconverted.
    const transaction = await failureOf(
      orm.em.fork().transactional((em) => run(em as EntityManager, 'select 1')),
    );

    expect([unavailableDependency(statement), unavailableDependency(transaction)]).toEqual([
      'postgres',
      'postgres',
    ]);
  });

  it('up but slow: lets a statement run past the stall timeout, since the server still answers', async () => {
    const rows = await orm.em
      .getConnection()
      .execute<{ slept: string }[]>('select pg_sleep(1.5)::text as slept');
    expect(rows).toEqual([{ slept: '' }]);
  });

  it('frozen (SIGSTOP): fails a statement within the stall and connect timeouts, as postgres unavailable', async () => {
    await orm.em.getConnection().execute('select 1');
    postgres.freeze();

    const error = await failureOf(orm.em.getConnection().execute('select 1'));

    expect(unavailableDependency(error)).toBe('postgres');
  });

  it('frozen: rolls back a transaction whose statement went unanswered, never committing it with the next caller’s', async () => {
    const abandoned = orm.em.fork().transactional(async (em) => {
      await run(em as EntityManager, 'select 1');
      // The transaction is open on the server when it stops answering; the insert reaches it all the same.
      postgres.freeze();
      await run(em as EntityManager, "insert into notes values ('abandoned')");
    });
    expect(unavailableDependency(await failureOf(abandoned))).toBe('postgres');
    postgres.thaw();

    await orm.em.fork().transactional((em) => run(em as EntityManager, "insert into notes values ('next')"));

    const rows = await orm.em
      .getConnection()
      .execute<{ text: string }[]>('select text from notes order by text');
    expect(rows.map((row) => row.text)).toEqual(['next']);
  });
});
