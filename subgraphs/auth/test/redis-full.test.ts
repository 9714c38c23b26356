import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer, registerUser } from '../../../common/testing/auth';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import type { DataStore } from '../../../scripts/platform/data-store';
import { findFreePort } from '../../../scripts/platform/ports';
import { provideRedis } from '../../../scripts/platform/redis';

const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}`;
const ME = '{ me { id } }';
const FILLER = 'filler:';

/**
 * Redis as the platform starts it (redis.conf: a memory limit, `noeviction`) but full: it refuses
 * writes rather than evict revocations. The platform must say so, retryably and naming Redis, and
 * leave nothing half done.
 */
describe('auth when Redis is full (maxmemory with noeviction)', () => {
  let dir: string;
  let redis: DataStore;
  let admin: Redis;
  let platform: TestPlatform;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redis-full-test-'));
    redis = await provideRedis({
      dataDir: join(dir, 'redis'),
      passwordFile: join(dir, 'secrets', 'redis-password'),
      env: { EMBEDDED_REDIS_PORT: String(await findFreePort()) },
    });
    admin = new Redis(redis.url);
    platform = await startTestPlatform('auth-redis-full', { env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await platform?.stop();
    admin?.disconnect();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Full, deterministically: a limit far below what is used, so every write is refused (OOM) however
   * much memory expiring keys give back meanwhile. Filling up to a limit just above use was flaky.
   */
  const fill = async () => {
    await admin.config('SET', 'maxmemory', '1');
    await expect(admin.set(`${FILLER}probe`, 'x')).rejects.toThrow(/OOM/);
  };
  const drain = async () => {
    await admin.config('SET', 'maxmemory', '512mb');
  };

  it('answers UPSTREAM_UNAVAILABLE naming redis while full, with nothing half done, and works once there is room', async () => {
    const user = await registerUser(platform);
    await fill();
    try {
      // Every signed identity is spent once in Redis (docs/protocol.md): no room, no request.
      const signedIn = await postGraphQL<{ login: { accessToken: string } }>(platform.gatewayUrl, LOGIN, {
        email: user.email,
        password: user.password,
      });
      expect(signedIn.errors?.map((error) => error.extensions)).toEqual([
        expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', dependency: 'redis' }),
      ]);
      const logout = await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, user.headers);
      expect(errorCodes(logout)).toEqual(['UPSTREAM_UNAVAILABLE']);
    } finally {
      await drain();
    }
    // Nothing was half done: the session is still whole, and the client may simply retry.
    expect((await postGraphQL(platform.gatewayUrl, ME, {}, user.headers)).errors).toBeUndefined();
    expect(await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, user.headers)).toMatchObject({
      data: { logout: true },
    });
    expect(errorCodes(await postGraphQL(platform.gatewayUrl, ME, {}, bearer(user.accessToken)))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});
