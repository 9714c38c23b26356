import { once } from 'node:events';
import { join } from 'node:path';
import { dropSchemas } from '../common/testing/cleanup';
import { appliedMigrations } from '../common/testing/migrations';
import { testServers } from '../common/testing/env';
import { testNamespace } from '../common/testing/namespace';
import { spawnTypeScript } from '../common/testing/typescript-process';
import { authMigrations } from '../subgraphs/auth/store/migrations';
import { conversationMigrations } from '../subgraphs/conversation/store/migrations';

const namespace = testNamespace('migrate');
const schemas = { AUTH_DB_SCHEMA: `${namespace}_auth`, CONVERSATION_DB_SCHEMA: `${namespace}_conversation` };

/** Runs `npm run migrate`'s entry point; resolves to its exit code and what it wrote to stderr. */
async function runMigrate(env: Record<string, string | undefined>) {
  const child = spawnTypeScript(join(__dirname, 'migrate.ts'), [], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

afterAll(() => dropSchemas(testServers().databaseUrl, Object.values(schemas)));

it("creates auth's and conversation's schemas with every migration, and a second run finds nothing to do", async () => {
  const env = { DATABASE_URL: testServers().databaseUrl, ...schemas };
  expect(await runMigrate(env)).toEqual({ code: 0, stderr: '' });
  expect(await runMigrate(env)).toEqual({ code: 0, stderr: '' });

  expect(await appliedMigrations(testServers().databaseUrl, schemas.AUTH_DB_SCHEMA)).toEqual(
    authMigrations.map((m) => m.name),
  );
  expect(await appliedMigrations(testServers().databaseUrl, schemas.CONVERSATION_DB_SCHEMA)).toEqual(
    conversationMigrations.map((m) => m.name),
  );
});

it('refuses to run without DATABASE_URL, naming it', async () => {
  const { code, stderr } = await runMigrate({ DATABASE_URL: '', ...schemas });
  expect(code).toBe(1);
  expect(stderr).toContain('DATABASE_URL');
});
