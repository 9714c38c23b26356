import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { createDatabase } from '../stores/database';
import { dropSchemas } from './cleanup';
import { testServers } from './env';
import { silentLogger } from './logger';
import { testNamespace } from './namespace';

/** A database of a test file's own for the store helpers' tests: one table, `notes (id, text)`, in a schema of its own. */
export interface NotesDatabase {
  orm: MikroORM<PostgreSqlDriver>;
  /** The table's qualified name, for raw SQL. */
  notes: string;
  /** A new unit of work. */
  em: () => EntityManager;
  /** Closes the pool and drops the schema. */
  drop: () => Promise<void>;
}

export async function openNotesDatabase(label: string, poolSize: number): Promise<NotesDatabase> {
  const schema = testNamespace(label);
  const { databaseUrl } = testServers();
  const orm = await createDatabase({
    url: databaseUrl,
    schema,
    entities: [],
    migrations: [],
    logger: silentLogger(),
    poolSize,
  });
  await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
  await orm.em.getConnection().execute(`create table "${schema}".notes (id int primary key, text text)`);
  return {
    orm,
    notes: `"${schema}".notes`,
    em: () => orm.em.fork() as EntityManager,
    drop: async () => {
      await orm.close();
      await dropSchemas(databaseUrl, [schema]);
    },
  };
}
