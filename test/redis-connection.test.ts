import { createHook } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { createRedis, redisConnection } from '../common/stores/redis';
import { deleteRedisKeys } from '../common/testing/cleanup';
import { testServers } from '../common/testing/env';
import { silentLogger } from '../common/testing/logger';
import { findFreePort } from '../common/util/free-port';
import { eventually } from '../common/testing/wait';
import { findOnPath } from '../scripts/platform/executables';
import { exited, spawnLogged } from '../scripts/platform/processes';
import { checkRedis } from '../scripts/platform/redis';
import { waitUntil } from '../scripts/platform/wait';

describe('the one Redis connection factory', () => {
  it('reads plain, TLS and Sentinel URLs', () => {
    expect(redisConnection('redis://:pw@cache:6380/2')).toEqual({
      url: 'redis://:pw@cache:6380/2',
      options: {},
    });
    expect(redisConnection('rediss://cache:6380').url).toBe('rediss://cache:6380');
    expect(
      redisConnection('redis+sentinel://app:s%40cret@s1:26379,s2,s3:26380/primary/3?sentinelPassword=watch')
        .options,
    ).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: 's3', port: 26380 },
      ],
      name: 'primary',
      db: 3,
      username: 'app',
      password: 's@cret',
      sentinelPassword: 'watch',
    });
    expect(redisConnection('rediss+sentinel://s1/primary').options).toMatchObject({
      enableTLSForSentinelMode: true,
    });
    expect(() => redisConnection('redis+sentinel://s1:26379')).toThrow(/names its master/);
  });

  describe('writing commands', () => {
    const prefix = `redis-connection-test-${process.pid}:`;
    let redis: Redis;
    beforeAll(async () => {
      redis = createRedis({ url: testServers().redisUrl, keyPrefix: prefix, logger: silentLogger() });
      await eventually(() => expect(redis.status).toBe('ready'));
    });
    afterAll(async () => {
      redis.disconnect();
      await deleteRedisKeys(testServers().redisUrl, prefix);
    });

    /** The system calls the connection's socket makes while `work` runs: the commands each one carried. */
    async function writesDuring(work: () => Promise<unknown>): Promise<number[]> {
      const socket = redis.stream as Socket & {
        _write(chunk: unknown, encoding: string, callback: () => void): void;
        _writev(chunks: unknown[], callback: () => void): void;
      };
      const [write, writev] = [socket._write, socket._writev];
      const writes: number[] = [];
      socket._write = function (...args) {
        writes.push(1);
        return write.apply(this, args);
      };
      socket._writev = function (chunks, callback) {
        writes.push(chunks.length);
        return writev.call(this, chunks, callback);
      };
      try {
        await work();
      } finally {
        socket._write = write;
        socket._writev = writev;
      }
      return writes;
    }

    it('sends the commands issued in one tick in one write, each with its own answer', async () => {
      let answers: unknown[] = [];
      const writes = await writesDuring(async () => {
        answers = await Promise.all([
          redis.set('a', '1'),
          redis.incr('counter'),
          redis.get('a'),
          Promise.resolve().then(() => redis.incr('counter')),
        ]);
      });
      expect(writes).toEqual([4]);
      expect(answers).toEqual(['OK', 1, '1', 2]);
    });

    it('sends a command of a later tick without waiting for more', async () => {
      const writes = await writesDuring(async () => {
        await redis.set('b', '1');
        await redis.get('b');
      });
      expect(writes).toEqual([1, 1]);
    });
  });

  describe('closing a client', () => {
    /** A server that takes connections and answers every command but INFO, ioredis's ready check. */
    async function unreadyServer(): Promise<{ url: string; close: () => Promise<void> }> {
      const server = createServer((socket) => {
        socket.on('data', (data) => {
          // Each command is a RESP array; all but INFO get +OK.
          for (const command of data.toString().split('*').slice(1)) {
            if (!/\r\ninfo\r\n/i.test(command)) socket.write('+OK\r\n');
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return {
        url: `redis://127.0.0.1:${port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }

    it('leaves no timer running a moment after it was closed in the middle of its ready check', async () => {
      const server = await unreadyServer();
      const client = createRedis({ url: server.url, logger: silentLogger() });
      const timers: NodeJS.Timeout[] = [];
      const hook = createHook({
        init: (_id, type, _trigger, resource) => {
          if (type === 'Timeout') timers.push(resource as NodeJS.Timeout);
        },
      });
      try {
        await new Promise((resolve) => client.once('connect', resolve));
        // Past the connection's own commands: the ready check is what is left unanswered.
        await new Promise((resolve) => setTimeout(resolve, 50));
        hook.enable();
        client.disconnect();
        // ioredis's own 2 s would still be running here, and keep the process alive.
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        hook.disable();
        await server.close();
      }
      expect(client.status).toBe('end');
      const running = timers.filter((timer) => !(timer as unknown as { _destroyed: boolean })._destroyed);
      expect(running).toHaveLength(0);
    });
  });

  describe('through a real Sentinel, with a password', () => {
    const children: ChildProcess[] = [];
    let dir: string;
    let client: Redis | undefined;

    const start = (args: string[], name: string) => {
      const program = findOnPath('redis-server');
      if (!program) throw new Error('this test needs redis-server on PATH');
      const child = spawnLogged(program, args, { logPath: join(dir, `${name}.log`) });
      children.push(child);
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sentinel-'));
    });
    afterAll(async () => {
      client?.disconnect();
      await Promise.all(
        children.map(async (child) => {
          const gone = exited(child);
          child.kill('SIGKILL');
          await gone;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    });

    it('finds the master the sentinels name and works with it', async () => {
      const [masterPort, sentinelPort] = [await findFreePort(), await findFreePort()];
      start(
        ['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--requirepass', 'm4ster'],
        'master',
      );
      const config = join(dir, 'sentinel.conf');
      await writeFile(
        config,
        [
          `port ${sentinelPort}`,
          'bind 127.0.0.1',
          `sentinel monitor primary 127.0.0.1 ${masterPort} 1`,
          'sentinel auth-pass primary m4ster',
          '',
        ].join('\n'),
      );
      start([config, '--sentinel'], 'sentinel');
      // Up before the client asks: ioredis keeps a refused sentinel's socket on a 2 s timer after it
      // gives up on it, which outlives the test file (jest then reports a worker that failed to exit).
      await waitUntil('the sentinel', () => checkRedis(`redis://127.0.0.1:${sentinelPort}`), {
        timeoutMs: 15_000,
      });

      client = createRedis({
        url: `redis+sentinel://:m4ster@127.0.0.1:${sentinelPort}/primary`,
        keyPrefix: 'sentinel-test:',
        logger: silentLogger(),
      });
      const redis = client;
      await eventually(() => expect(redis.status).toBe('ready'), { timeoutMs: 15_000, intervalMs: 200 });
      await redis.set('greeting', 'hello');
      expect(await redis.get('greeting')).toBe('hello');
    });
  });
});
