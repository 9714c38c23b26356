import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type NotesDatabase, openNotesDatabase } from '../testing/notes-database';
import { inTransaction } from './transaction';

describe('a transaction', () => {
  let database: NotesDatabase;

  beforeAll(async () => {
    database = await openNotesDatabase('transaction', 2);
  });
  afterAll(() => database?.drop());
  afterEach(() => jest.restoreAllMocks());

  const em = () => database.em();
  const insert = (on: EntityManager, id: number, text: string) =>
    on.execute(`insert into ${database.notes} values (?, ?)`, [id, text]);
  const texts = async (on: EntityManager = em()) =>
    (await on.execute<{ text: string }[]>(`select text from ${database.notes} order by id`)).map(
      (row) => row.text,
    );
  const clear = () => em().execute(`delete from ${database.notes}`);
  beforeEach(clear);

  it('commits what its work wrote when the work returns, and returns what the work returned', async () => {
    const result = await inTransaction(em(), async (transaction) => {
      await insert(transaction, 1, 'one');
      await insert(transaction, 2, 'two');
      return 'done';
    });
    expect(result).toBe('done');
    expect(await texts()).toEqual(['one', 'two']);
  });

  it('is invisible to other connections until it commits', async () => {
    let seenOutside: string[] = [];
    await inTransaction(em(), async (transaction) => {
      await insert(transaction, 1, 'pending');
      expect(await texts(transaction)).toEqual(['pending']);
      seenOutside = await texts();
    });
    expect(seenOutside).toEqual([]);
    expect(await texts()).toEqual(['pending']);
  });

  it('rolls back everything its work wrote when the work throws, and throws the work’s error', async () => {
    const failure = new Error('the work failed');
    await expect(
      inTransaction(em(), async (transaction) => {
        await insert(transaction, 1, 'lost');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await texts()).toEqual([]);
  });

  it('rolls back a statement’s failure and leaves the connection usable', async () => {
    await insert(em(), 1, 'kept');
    await expect(
      inTransaction(em(), async (transaction) => {
        await insert(transaction, 2, 'lost');
        await insert(transaction, 1, 'duplicate');
      }),
    ).rejects.toThrow(/duplicate key/);
    for (let id = 3; id < 6; id++)
      await inTransaction(em(), (transaction) => insert(transaction, id, `n${id}`));
    expect(await texts()).toEqual(['kept', 'n3', 'n4', 'n5']);
  });

  it('nests as a savepoint: an inner failure undoes only the inner work', async () => {
    await inTransaction(em(), async (outer) => {
      await insert(outer, 1, 'outer');
      await expect(
        inTransaction(outer, async (inner) => {
          await insert(inner, 2, 'inner');
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      await inTransaction(outer, (inner) => insert(inner, 3, 'inner kept'));
    });
    expect(await texts()).toEqual(['outer', 'inner kept']);
  });

  // On Node 20 the first run of an AsyncLocalStorage puts async hooks on every promise the process makes
  // from then on: a transaction must not be what turns them on.
  it('never enters an AsyncLocalStorage, as MikroORM’s em.transactional does', async () => {
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    const enterWith = jest.spyOn(AsyncLocalStorage.prototype, 'enterWith');
    await inTransaction(em(), async (transaction) => {
      await insert(transaction, 1, 'one');
      await inTransaction(transaction, (inner) => insert(inner, 2, 'two'));
    });
    await expect(inTransaction(em(), () => Promise.reject(new Error('rolled back')))).rejects.toThrow();
    expect(run).not.toHaveBeenCalled();
    expect(enterWith).not.toHaveBeenCalled();

    await em().transactional((transaction) => insert(transaction, 3, 'three'));
    expect(run).toHaveBeenCalled();
  });
});
