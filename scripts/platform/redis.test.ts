import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './ports';
import { checkRedis, provideRedis } from './redis';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redis-platform-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url);
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

test('starts a redis-server that answers PING, stops it, and keeps its data for the next start', async () => {
  const port = await findFreePort();
  const options = { dataDir: join(dir, 'redis'), env: { EMBEDDED_REDIS_PORT: String(port) } };

  const first = await provideRedis(options);
  expect(first.url).toBe(`redis://127.0.0.1:${port}`);
  try {
    await withClient(first.url, async (client) => {
      expect(await client.ping()).toBe('PONG');
      await client.set('greeting', 'hello');
    });
  } finally {
    await first.stop();
  }
  await expect(checkRedis(first.url)).rejects.toThrow();
  expect(existsSync(join(dir, 'redis', 'dump.rdb'))).toBe(true);

  const second = await provideRedis(options);
  try {
    expect(await withClient(second.url, (client) => client.get('greeting'))).toBe('hello');
  } finally {
    await second.stop();
  }
});

test('with REDIS_URL set, checks that Redis and leaves it running', async () => {
  const url = process.env.REDIS_URL as string;
  const redis = await provideRedis({ dataDir: join(dir, 'unused'), env: { REDIS_URL: url } });
  expect(redis.url).toBe(url);
  await redis.stop();
  await expect(checkRedis(url)).resolves.toBeUndefined();
  expect(existsSync(join(dir, 'unused'))).toBe(false);
});

test('a REDIS_URL that does not answer fails, naming REDIS_URL', async () => {
  const url = `redis://127.0.0.1:${await findFreePort()}`;
  await expect(provideRedis({ dataDir: join(dir, 'unused'), env: { REDIS_URL: url } })).rejects.toThrow(
    `Redis at REDIS_URL (${url}) does not answer`,
  );
});

test('a port already in use fails, naming the port and how to change it', async () => {
  const taken = await provideRedis({
    dataDir: join(dir, 'taken'),
    env: { EMBEDDED_REDIS_PORT: String(await findFreePort()) },
  });
  try {
    const port = new URL(taken.url).port;
    await expect(
      provideRedis({ dataDir: join(dir, 'other'), env: { EMBEDDED_REDIS_PORT: port } }),
    ).rejects.toThrow(`Redis: port ${port} on 127.0.0.1 is already in use`);
  } finally {
    await taken.stop();
  }
});
