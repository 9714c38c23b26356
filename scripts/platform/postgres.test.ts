import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { findFreePort } from './ports';
import { checkPostgres, providePostgres } from './postgres';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postgres-platform-test-'));
  // Run as root, PostgreSQL runs as the 'postgres' user, which must be able to enter this directory.
  await chmod(dir, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

test('with DATABASE_URL set, checks that PostgreSQL and leaves it running', async () => {
  const url = process.env.DATABASE_URL as string;
  const postgres = await providePostgres({ dataDir: join(dir, 'unused'), env: { DATABASE_URL: url } });
  expect(postgres.url).toBe(url);
  await postgres.stop();
  await expect(checkPostgres(url)).resolves.toBeUndefined();
});

test('a DATABASE_URL that does not answer fails, naming DATABASE_URL without its password', async () => {
  const url = `postgres://someone:secret@127.0.0.1:${await findFreePort()}/chat`;
  const attempt = providePostgres({ dataDir: join(dir, 'unused'), env: { DATABASE_URL: url } });
  await expect(attempt).rejects.toThrow('PostgreSQL at DATABASE_URL (postgres://someone:***@127.0.0.1:');
  await expect(attempt).rejects.not.toThrow('secret');
});

test('starts the embedded PostgreSQL with a chat database, stops it, and keeps its data for the next start', async () => {
  const port = await findFreePort();
  const options = { dataDir: join(dir, 'postgres'), env: { EMBEDDED_POSTGRES_PORT: String(port) } };

  const first = await providePostgres(options);
  expect(first.url).toBe(`postgres://postgres@127.0.0.1:${port}/chat`);
  try {
    expect(await query(first.url, 'SELECT current_database() AS name')).toEqual([{ name: 'chat' }]);
    await query(first.url, "CREATE TABLE kept AS SELECT 'hello' AS greeting");
  } finally {
    await first.stop();
  }
  await expect(checkPostgres(first.url)).rejects.toThrow();

  const second = await providePostgres(options);
  try {
    expect(await query(second.url, 'SELECT greeting FROM kept')).toEqual([{ greeting: 'hello' }]);
  } finally {
    await second.stop();
  }
}, 60_000);
