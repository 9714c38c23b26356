import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs `work` in one transaction (a savepoint when `em` is already in one), on a fork of `em`
 * bound to it: committed when `work` returns, rolled back when it throws.
 *
 * MikroORM's `em.transactional` does the same through an AsyncLocalStorage, and ends with a flush
 * that runs in another. On Node 20 the first `run` of any AsyncLocalStorage installs async hooks for
 * the rest of the process's life, after which every promise the service makes pays an init hook
 * and a propagation (docs/performance.md, fourteenth round). Repositories write with native
 * statements (insert, nativeUpdate, execute), so a transaction has no unit of work to flush, and
 * the fork is handed to `work` explicitly, so nothing needs the storage to find it.
 */
export async function inTransaction<T>(
  em: EntityManager,
  work: (transaction: EntityManager) => Promise<T>,
): Promise<T> {
  const connection = em.getConnection('write');
  const context = await connection.begin({ ctx: em.getTransactionContext() });
  const transaction = em.fork();
  transaction.setTransactionContext(context);
  let result: T;
  try {
    result = await work(transaction);
  } catch (error) {
    await connection.rollback(context);
    throw error;
  }
  await connection.commit(context);
  return result;
}
