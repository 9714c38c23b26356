import { Client } from 'pg';

/** The migrations MikroORM has recorded as applied in a schema, in the order they ran. */
export async function appliedMigrations(databaseUrl: string, schema: string): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `select name from "${schema}".mikro_orm_migrations order by id`,
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}
