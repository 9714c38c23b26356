import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/**
 * Runs `sql` (with `?` placeholders, as `em.execute` takes it) as the prepared statement `name`, in
 * `em`'s transaction when it has one. PostgreSQL parses and plans a named statement once per
 * connection (and keeps a generic plan once it is no worse), where `em.execute` writes the values
 * into the SQL, so that every call is parsed and planned afresh: 1.4–2.2 ms of planning for a
 * turn's context read (docs/performance.md, "Twelfth round"). A name always goes with the same SQL.
 * Failures are converted as MikroORM converts its own, so an outage reads the same to callers.
 */
export async function executePrepared<Row>(
  em: EntityManager,
  name: string,
  sql: string,
  params: readonly Knex.Value[],
): Promise<Row[]> {
  const query = em.getKnex().raw(sql, params).options({ name });
  const transaction = em.getTransactionContext<Knex.Transaction>();
  if (transaction) query.transacting(transaction);
  try {
    const result = (await query) as { rows: Row[] };
    return result.rows;
  } catch (error) {
    throw em.getDriver().convertException(error as Error);
  }
}
