import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { createDatabase, migrate } from '../../../common/stores/database';
import { dropSchemas } from '../../../common/testing/cleanup';
import { testServers } from '../../../common/testing/env';
import { silentLogger } from '../../../common/testing/logger';
import { testNamespace } from '../../../common/testing/namespace';
import { authEntities } from '../store/entities';
import { authMigrations } from '../store/migrations';

const BEFORE_VERIFICATION = 'Migration20261127001000_accounts';

describe("auth's email verification migration", () => {
  const schema = `${testNamespace('auth-migrations')}_auth`;
  const { databaseUrl } = testServers();
  let orm: MikroORM<PostgreSqlDriver>;

  beforeAll(async () => {
    orm = await createDatabase({
      url: databaseUrl,
      schema,
      entities: authEntities,
      migrations: authMigrations,
      logger: silentLogger(),
      poolSize: 2,
    });
  });
  afterAll(async () => {
    await orm?.close();
    await dropSchemas(databaseUrl, [schema]);
  });

  const sql = <Row>(query: string, params: unknown[] = []) =>
    orm.em.getConnection().execute<Row[]>(query, params);
  const columnsOf = async (table: string) =>
    (
      await sql<{ column_name: string }>(
        'select column_name from information_schema.columns where table_schema = ? and table_name = ?',
        [schema, table],
      )
    ).map((row) => row.column_name);

  it('adds verification to existing accounts as unverified, records existing admins as set, and goes back down', async () => {
    await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
    await orm.getMigrator().up({ to: BEFORE_VERIFICATION });
    const [admin, user] = [randomUUID(), randomUUID()];
    await sql(
      `insert into "users" ("id", "email", "display_name", "password_hash", "role") values
         (?, 'old-admin@example.test', 'Admin', 'hash', 'ADMIN'), (?, 'old-user@example.test', 'User', 'hash', 'USER')`,
      [admin, user],
    );

    await migrate({
      url: databaseUrl,
      schema,
      entities: authEntities,
      migrations: authMigrations,
      logger: silentLogger(),
    });
    const rows = await sql<{ id: string; verified: boolean; role_set: boolean }>(
      `select "id", "email_verified_at" is not null as verified, "role_set_at" is not null as role_set
         from "users" order by "email"`,
    );
    // ADMIN_EMAILS will not undo a later demotion of an admin someone made before the upgrade.
    expect(rows).toEqual([
      { id: admin, verified: false, role_set: true },
      { id: user, verified: false, role_set: false },
    ]);
    expect(await columnsOf('email_verification_tokens')).toContain('token_hash');

    await orm.getMigrator().down({ to: BEFORE_VERIFICATION });
    expect(await columnsOf('users')).not.toContain('email_verified_at');
    expect(await columnsOf('users')).not.toContain('role_set_at');
    expect(await columnsOf('email_verification_tokens')).toEqual([]);
    expect(await sql('select "id" from "users"')).toHaveLength(2);
  });
});
