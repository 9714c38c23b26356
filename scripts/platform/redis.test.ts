import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { findFreePort } from './ports';
import { exited } from './processes';
import { checkRedis, provideRedis, REDIS_CONF } from './redis';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redis-platform-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

const embedded = async (name: string) => ({
  dataDir: join(dir, name, 'redis'),
  passwordFile: join(dir, name, 'secrets', 'redis-password'),
  env: { EMBEDDED_REDIS_PORT: String(await findFreePort()) },
});

/** The options redis.conf sets, as `CONFIG GET` reports them. */
async function optionsOfRedisConf(): Promise<Record<string, string>> {
  const text = await readFile(join(projectRoot(), REDIS_CONF), 'utf8');
  const lines = text.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
  const units: Record<string, string> = { '512mb': String(512 * 1024 * 1024) };
  return Object.fromEntries(
    lines.map((line) => {
      const [name, value] = line.trim().split(/\s+/, 2);
      return [name, units[value] ?? value.replace(/^""$/, '')];
    }),
  );
}

test('starts a redis-server with the options of redis.conf and a generated password, and keeps its data', async () => {
  const options = await embedded('basic');
  const first = await provideRedis(options);
  const password = (await readFile(options.passwordFile, 'utf8')).trim();
  expect(password).toMatch(/^[0-9a-f]{64}$/);
  expect((await stat(options.passwordFile)).mode & 0o777).toBe(0o600);
  expect((await stat(options.dataDir)).mode & 0o777).toBe(0o700);
  expect(first.url).toBe(`redis://:${password}@127.0.0.1:${options.env.EMBEDDED_REDIS_PORT}`);
  try {
    // Any other local user: nothing without the password.
    await expect(checkRedis(`redis://127.0.0.1:${options.env.EMBEDDED_REDIS_PORT}`)).rejects.toThrow(
      /NOAUTH/,
    );
    await withClient(first.url, async (client) => {
      for (const [name, value] of Object.entries(await optionsOfRedisConf())) {
        expect([name, ((await client.config('GET', name)) as string[])[1]]).toEqual([name, value]);
      }
      await client.set('greeting', 'hello');
    });
  } finally {
    await first.stop();
  }
  await expect(checkRedis(first.url)).rejects.toThrow();
  expect(existsSync(join(options.dataDir, 'appendonlydir'))).toBe(true);
  expect(await readFile(`${options.dataDir}.log`, 'utf8')).not.toContain(password);

  const second = await provideRedis(options);
  try {
    expect(second.url).toBe(first.url);
    expect(await withClient(second.url, (client) => client.get('greeting'))).toBe('hello');
  } finally {
    await second.stop();
  }
});

test('loses no acknowledged write when redis-server is killed', async () => {
  const options = await embedded('killed');
  const first = await provideRedis(options);
  const writes = Array.from({ length: 200 }, (_, index) => `value-${index}`);
  const pid = await withClient(first.url, async (client) => {
    for (const [index, value] of writes.entries()) await client.set(`key-${index}`, value);
    return Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
  });
  // Right after the last acknowledgement: no snapshot or shutdown gets a chance to save anything.
  process.kill(pid, 'SIGKILL');
  await first.stop();

  const second = await provideRedis(options);
  try {
    const kept = await withClient(second.url, (client) =>
      client.mget(writes.map((_, index) => `key-${index}`)),
    );
    expect(kept).toEqual(writes);
  } finally {
    await second.stop();
  }
});

test('keeps the data of a directory an earlier npm start left (a snapshot, no append-only file)', async () => {
  const options = await embedded('upgraded');
  await mkdir(options.dataDir, { recursive: true });
  // Redis as an earlier npm start ran it: no password, snapshots, no append-only file.
  const port = options.env.EMBEDDED_REDIS_PORT;
  const earlier = spawn(
    'redis-server',
    ['--port', port, '--dir', options.dataDir, '--save', '60 1', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const earlierUrl = `redis://127.0.0.1:${port}`;
  await withClient(earlierUrl, async (client) => {
    await client.set('from-before', 'still here');
    await client.shutdown('SAVE');
  }).catch(() => undefined);
  await exited(earlier);
  expect(existsSync(join(options.dataDir, 'dump.rdb'))).toBe(true);

  const upgraded = await provideRedis(options);
  try {
    expect(await withClient(upgraded.url, (client) => client.get('from-before'))).toBe('still here');
  } finally {
    await upgraded.stop();
  }
  expect(existsSync(join(options.dataDir, 'appendonlydir'))).toBe(true);
  const again = await provideRedis(options);
  try {
    expect(await withClient(again.url, (client) => client.get('from-before'))).toBe('still here');
  } finally {
    await again.stop();
  }
});

test('with REDIS_URL set, checks that Redis and leaves it running, generating no password', async () => {
  const url = process.env.REDIS_URL as string;
  const options = { ...(await embedded('unused')), env: { REDIS_URL: url } };
  const redis = await provideRedis(options);
  expect(redis.url).toBe(url);
  await redis.stop();
  await expect(checkRedis(url)).resolves.toBeUndefined();
  expect(existsSync(options.dataDir)).toBe(false);
  expect(existsSync(options.passwordFile)).toBe(false);
});

test('a REDIS_URL that does not answer fails, naming REDIS_URL without its password', async () => {
  const url = `redis://:secret@127.0.0.1:${await findFreePort()}`;
  const attempt = provideRedis({ ...(await embedded('unused')), env: { REDIS_URL: url } });
  await expect(attempt).rejects.toThrow(`Redis at REDIS_URL (redis://:***@127.0.0.1:`);
  await expect(attempt).rejects.not.toThrow('secret');
});

test('a port already in use fails, naming the port and how to change it', async () => {
  const taken = await provideRedis(await embedded('taken'));
  try {
    const port = new URL(taken.url).port;
    await expect(
      provideRedis({ ...(await embedded('other')), env: { EMBEDDED_REDIS_PORT: port } }),
    ).rejects.toThrow(`Redis: port ${port} on 127.0.0.1 is already in use`);
  } finally {
    await taken.stop();
  }
});
