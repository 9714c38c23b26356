import { chmod, readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
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

/** The same server and database, as `user` with `password` (none: no password at all). */
function withCredentials(url: string, password: string | null): string {
  const parsed = new URL(url);
  parsed.password = password ?? '';
  return parsed.toString();
}

/** pg_hba.conf as npm start wrote it before password authentication: anyone local, any user, no password. */
const TRUST_ALL = `local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
`;

test('with DATABASE_URL set, checks that PostgreSQL and leaves it running, generating no password', async () => {
  const url = process.env.DATABASE_URL as string;
  const passwordFile = join(dir, 'unused-secrets', 'postgres-password');
  const postgres = await providePostgres({
    dataDir: join(dir, 'unused'),
    passwordFile,
    env: { DATABASE_URL: url },
  });
  expect(postgres.url).toBe(url);
  await postgres.stop();
  await expect(checkPostgres(url)).resolves.toBeUndefined();
  await expect(stat(passwordFile)).rejects.toThrow('ENOENT');
});

test('a DATABASE_URL that does not answer fails, naming DATABASE_URL without its password', async () => {
  const url = `postgres://someone:secret@127.0.0.1:${await findFreePort()}/chat`;
  const attempt = providePostgres({
    dataDir: join(dir, 'unused'),
    passwordFile: join(dir, 'unused-secrets', 'postgres-password'),
    env: { DATABASE_URL: url },
  });
  await expect(attempt).rejects.toThrow('PostgreSQL at DATABASE_URL (postgres://someone:***@127.0.0.1:');
  await expect(attempt).rejects.not.toThrow('secret');
});

test('starts the embedded PostgreSQL with a chat database that needs the generated password, and keeps both', async () => {
  const port = await findFreePort();
  const passwordFile = join(dir, 'secrets', 'postgres-password');
  const options = {
    dataDir: join(dir, 'postgres'),
    passwordFile,
    env: { EMBEDDED_POSTGRES_PORT: String(port) },
  };

  const first = await providePostgres(options);
  const password = (await readFile(passwordFile, 'utf8')).trim();
  expect(password).toMatch(/^[0-9a-f]{64}$/);
  expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
  expect(first.url).toBe(`postgres://postgres:${password}@127.0.0.1:${port}/chat`);
  try {
    expect(await query(first.url, 'SELECT current_database() AS name')).toEqual([{ name: 'chat' }]);
    await query(first.url, "CREATE TABLE kept AS SELECT 'hello' AS greeting");
    // Any other local user connecting as anyone: refused without the password, or with another.
    await expect(checkPostgres(withCredentials(first.url, null))).rejects.toThrow();
    await expect(checkPostgres(withCredentials(first.url, 'guessed'))).rejects.toThrow(
      /password authentication failed/,
    );
  } finally {
    await first.stop();
  }
  await expect(checkPostgres(first.url)).rejects.toThrow();

  const second = await providePostgres(options);
  try {
    expect(second.url).toBe(first.url);
    expect(await query(second.url, 'SELECT greeting FROM kept')).toEqual([{ greeting: 'hello' }]);
  } finally {
    await second.stop();
  }
}, 90_000);

test('gives a data directory an earlier npm start left open (trust) a password on its next start, keeping its data', async () => {
  const port = await findFreePort();
  const dataDir = join(dir, 'upgraded');
  const env = { EMBEDDED_POSTGRES_PORT: String(port) };
  const earlier = await providePostgres({ dataDir, passwordFile: join(dir, 'earlier', 'password'), env });
  try {
    await query(earlier.url, "CREATE TABLE kept AS SELECT 'from before' AS note");
  } finally {
    await earlier.stop();
  }
  // As an earlier npm start left it: trust for every local connection, and no password file.
  await writeFile(join(dataDir, 'pg_hba.conf'), TRUST_ALL);

  const passwordFile = join(dir, 'upgraded-secrets', 'postgres-password');
  const upgraded = await providePostgres({ dataDir, passwordFile, env });
  try {
    const password = (await readFile(passwordFile, 'utf8')).trim();
    expect(upgraded.url).toBe(`postgres://postgres:${password}@127.0.0.1:${port}/chat`);
    expect(await query(upgraded.url, 'SELECT note FROM kept')).toEqual([{ note: 'from before' }]);
    await expect(checkPostgres(withCredentials(upgraded.url, null))).rejects.toThrow();
    expect(await readFile(join(dataDir, 'pg_hba.conf'), 'utf8')).not.toMatch(/\btrust\b/);
    expect(await readFile(`${dataDir}.log`, 'utf8')).not.toContain(password);
  } finally {
    await upgraded.stop();
  }
}, 90_000);
