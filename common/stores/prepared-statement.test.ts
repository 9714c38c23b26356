import type { MikroORM } from '@mikro-orm/core';
import {
  type EntityManager,
  type PostgreSqlDriver,
  UniqueConstraintViolationException,
} from '@mikro-orm/postgresql';
import { dropSchemas } from '../testing/cleanup';
import { testServers } from '../testing/env';
import { silentLogger } from '../testing/logger';
import { testNamespace } from '../testing/namespace';
import { createDatabase } from './database';
import { executePrepared } from './prepared-statement';

describe('a prepared statement', () => {
  const schema = testNamespace('prepared');
  const { databaseUrl } = testServers();
  let orm: MikroORM<PostgreSqlDriver>;

  beforeAll(async () => {
    orm = await createDatabase({
      url: databaseUrl,
      schema,
      entities: [],
      migrations: [],
      logger: silentLogger(),
      poolSize: 1,
    });
    await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
    await orm.em.getConnection().execute(`create table "${schema}".notes (id int primary key, text text)`);
  });
  afterAll(async () => {
    await orm?.close();
    await dropSchemas(databaseUrl, [schema]);
  });

  const em = () => orm.em.fork() as EntityManager;
  const insert = (on: EntityManager, id: number, text: string) =>
    executePrepared(on, 'insert-note', `insert into "${schema}".notes values (?, ?)`, [id, text]);
  const read = (on: EntityManager, id: number) =>
    executePrepared<{ text: string }>(on, 'read-note', `select text from "${schema}".notes where id = ?`, [
      id,
    ]);

  it('runs again and again on one connection with each call’s own values', async () => {
    for (let id = 1; id <= 8; id++) await insert(em(), id, `note ${id}`);
    for (let id = 1; id <= 8; id++) expect(await read(em(), id)).toEqual([{ text: `note ${id}` }]);
    expect(await read(em(), 99)).toEqual([]);
    // Prepared on the connection (the pool has one), once each, under their names.
    const prepared = await orm.em
      .getConnection()
      .execute<{ name: string }[]>('select name from pg_prepared_statements order by name');
    expect(prepared.map((statement) => statement.name)).toEqual(['insert-note', 'read-note']);
  });

  it('runs in the transaction of the manager it is given', async () => {
    const transaction = em();
    await transaction.begin();
    await insert(transaction, 100, 'not yet');
    expect(await read(transaction, 100)).toEqual([{ text: 'not yet' }]);
    await transaction.rollback();
    expect(await read(em(), 100)).toEqual([]);
  });

  it('fails as MikroORM’s own statements fail, so callers read a failure the same', async () => {
    await expect(insert(em(), 1, 'again')).rejects.toBeInstanceOf(UniqueConstraintViolationException);
  });
});
