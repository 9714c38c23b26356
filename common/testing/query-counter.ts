import { Client } from 'pg';

export interface QueryCounter {
  /** SQL statements sent since the counter started (or was last reset). */
  readonly count: number;
  /** Of those, the ones sent as text to be parsed and planned afresh, not as a named prepared statement. */
  readonly unprepared: number;
  reset: () => void;
  stop: () => void;
}

/**
 * Counts the SQL statements this process sends through `pg` (which MikroORM uses) on the
 * connections of one PostgreSQL schema (every service sets its `search_path` when it connects,
 * see common/stores/database.ts), to prove that a request costs a constant number of queries whatever
 * other services in the process do. Stop the service's own background workers first.
 */
export function countQueries(schema: string): QueryCounter {
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  const counter = {
    count: 0,
    unprepared: 0,
    reset: () => void (counter.count = counter.unprepared = 0),
    stop: () => void (prototype.query = original),
  };
  prototype.query = function countedQuery(
    this: { connectionParameters?: { options?: string } },
    ...args: unknown[]
  ) {
    if (this.connectionParameters?.options?.includes(`search_path=${schema}`)) {
      counter.count++;
      const [query] = args as [{ name?: string } | string];
      if (typeof query === 'string' || !query.name) counter.unprepared++;
    }
    return original.apply(this, args);
  };
  return counter;
}
