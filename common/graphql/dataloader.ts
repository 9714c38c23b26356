import DataLoader from 'dataloader';

/**
 * A per-request loader over a batch lookup that returns rows in any order, or not at all:
 * each key gets the row whose `keyOf` equals it, or null. One query per tick, however many
 * resolvers ask.
 */
export function rowLoader<Key, Row>(
  fetch: (keys: readonly Key[]) => Promise<Row[]>,
  keyOf: (row: Row) => Key,
): DataLoader<Key, Row | null> {
  return new DataLoader<Key, Row | null>(async (keys) => {
    const rows = new Map((await fetch(keys)).map((row) => [keyOf(row), row] as const));
    return keys.map((key) => rows.get(key) ?? null);
  });
}

/**
 * A per-request loader for a list field: one batch lookup returns the rows of every key, and
 * each key gets the rows whose `groupOf` equals it (in the order fetched), or none.
 */
export function groupLoader<Key, Row>(
  fetch: (keys: readonly Key[]) => Promise<Row[]>,
  groupOf: (row: Row) => Key,
): DataLoader<Key, Row[]> {
  return new DataLoader<Key, Row[]>(async (keys) => {
    const groups = new Map<Key, Row[]>();
    for (const row of await fetch(keys)) {
      const key = groupOf(row);
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    return keys.map((key) => groups.get(key) ?? []);
  });
}
