import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { type NotesDatabase, openNotesDatabase } from '../testing/notes-database';
import { executePrepared } from './prepared-statement';

describe('a prepared statement', () => {
  let database: NotesDatabase;

  beforeAll(async () => {
    database = await openNotesDatabase('prepared', 1);
  });
  afterAll(() => database?.drop());

  const em = () => database.em();
  const insert = (on: EntityManager, id: number, text: string) =>
    executePrepared(on, 'insert-note', `insert into ${database.notes} values (?, ?)`, [id, text]);
  const read = (on: EntityManager, id: number) =>
    executePrepared<{ text: string }>(on, 'read-note', `select text from ${database.notes} where id = ?`, [
      id,
    ]);

  it('runs again and again on one connection with each call’s own values', async () => {
    for (let id = 1; id <= 8; id++) await insert(em(), id, `note ${id}`);
    for (let id = 1; id <= 8; id++) expect(await read(em(), id)).toEqual([{ text: `note ${id}` }]);
    expect(await read(em(), 99)).toEqual([]);
    // Prepared on the connection (the pool has one), once each, under their names.
    const prepared = await database.orm.em
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
