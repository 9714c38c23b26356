import { bearer, registerUser, type TestUser } from '../../../common/testing/auth';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { deleteRedisKeys } from '../../../common/testing/cleanup';
import { testServers } from '../../../common/testing/env';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { startTcpProxy, type TcpProxy } from '../../../common/testing/tcp-proxy';

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

interface SessionRow {
  id: string;
  userAgent: string | null;
  current: boolean;
  createdAt: string;
  lastUsedAt: string;
}

const REFRESH = `mutation Refresh($token: String!) {
  refreshToken(token: $token) { accessToken refreshToken user { id } }
}`;
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }`;
const SESSIONS = '{ sessions { id userAgent current createdAt lastUsedAt } }';
const ME = '{ me { id } }';

describe('sessions through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-sessions');
  });
  afterAll(() => platform?.stop());

  const refresh = (token: string) =>
    postGraphQL<{ refreshToken: Tokens & { user: { id: string } } }>(platform.gatewayUrl, REFRESH, { token });
  const me = (accessToken: string) => postGraphQL(platform.gatewayUrl, ME, {}, bearer(accessToken));
  const signInAgain = async (user: TestUser, userAgent: string): Promise<Tokens> => {
    const response = await postGraphQL<{ login: Tokens }>(
      platform.gatewayUrl,
      LOGIN,
      { input: { email: user.email, password: user.password } },
      { 'user-agent': userAgent },
    );
    return response.data!.login;
  };
  const sessionsOf = async (accessToken: string) =>
    (await postGraphQL<{ sessions: SessionRow[] }>(platform.gatewayUrl, SESSIONS, {}, bearer(accessToken)))
      .data!.sessions;
  const mutate = (operation: string, accessToken: string, variables = {}) =>
    postGraphQL(platform.gatewayUrl, operation, variables, bearer(accessToken));

  describe('refreshToken', () => {
    it('rotates: new tokens for the old refresh token, the new access token works', async () => {
      const user = await registerUser(platform);
      const response = await refresh(user.refreshToken);
      expect(response.errors).toBeUndefined();
      const rotated = response.data!.refreshToken;
      expect(rotated.user.id).toBe(user.id);
      expect(rotated.refreshToken).not.toBe(user.refreshToken);
      expect(rotated.accessToken).not.toBe(user.accessToken);
      expect((await me(rotated.accessToken)).errors).toBeUndefined();
      expect((await refresh(rotated.refreshToken)).errors).toBeUndefined();
    });

    it('treats reuse of a rotated refresh token as theft and ends the whole session at once', async () => {
      const user = await registerUser(platform);
      const rotated = (await refresh(user.refreshToken)).data!.refreshToken;
      const reuse = await refresh(user.refreshToken);
      expect(errorCodes(reuse)).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await me(rotated.accessToken))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await me(user.accessToken))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await refresh(rotated.refreshToken))).toEqual(['UNAUTHENTICATED']);
    });

    it('lets exactly one of two simultaneous refreshes of the same token succeed', async () => {
      const user = await registerUser(platform);
      const results = await Promise.all([refresh(user.refreshToken), refresh(user.refreshToken)]);
      const succeeded = results.filter((result) => result.data?.refreshToken);
      const refused = results.filter((result) => errorCodes(result).includes('UNAUTHENTICATED'));
      expect(succeeded).toHaveLength(1);
      expect(refused).toHaveLength(1);
    });

    it('refuses a refresh token it never issued', async () => {
      expect(errorCodes(await refresh('made-up-refresh-token'))).toEqual(['UNAUTHENTICATED']);
    });

    it('counts as using the session', async () => {
      const user = await registerUser(platform);
      const [before] = await sessionsOf(user.accessToken);
      const rotated = (await refresh(user.refreshToken)).data!.refreshToken;
      const [after] = await sessionsOf(rotated.accessToken);
      expect(after.id).toBe(before.id);
      expect(Date.parse(after.lastUsedAt)).toBeGreaterThan(Date.parse(before.lastUsedAt));
    });
  });

  describe('logout', () => {
    it('ends the current session: its access token is refused at once and its refresh token stops', async () => {
      const user = await registerUser(platform);
      const laptop = await signInAgain(user, 'laptop');
      expect(await mutate('mutation { logout }', user.accessToken)).toMatchObject({ data: { logout: true } });
      expect(errorCodes(await me(user.accessToken))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await refresh(user.refreshToken))).toEqual(['UNAUTHENTICATED']);
      expect((await me(laptop.accessToken)).errors).toBeUndefined();
    });

    it('needs a signed-in caller', async () => {
      expect(errorCodes(await postGraphQL(platform.gatewayUrl, 'mutation { logout }'))).toEqual([
        'UNAUTHENTICATED',
      ]);
    });
  });

  describe('logoutAll', () => {
    it('ends every session of the caller, on every device', async () => {
      const user = await registerUser(platform);
      const phone = await signInAgain(user, 'phone');
      const laptop = await signInAgain(user, 'laptop');
      const bystander = await registerUser(platform);
      expect(await mutate('mutation { logoutAll }', phone.accessToken)).toMatchObject({
        data: { logoutAll: true },
      });
      for (const tokens of [user, phone, laptop]) {
        expect(errorCodes(await me(tokens.accessToken))).toEqual(['UNAUTHENTICATED']);
        expect(errorCodes(await refresh(tokens.refreshToken))).toEqual(['UNAUTHENTICATED']);
      }
      expect((await me(bystander.accessToken)).errors).toBeUndefined();
    });
  });

  describe('sessions and revokeSession', () => {
    it('lists the caller’s devices with their user agent, marking the current one', async () => {
      const user = await registerUser(platform);
      const phone = await signInAgain(user, 'Phone/1.0');
      const laptop = await signInAgain(user, 'Laptop/2.0');
      const sessions = await sessionsOf(laptop.accessToken);
      expect(sessions).toHaveLength(3);
      expect(sessions.map((s) => s.userAgent).slice(0, 2)).toEqual(['Laptop/2.0', 'Phone/1.0']);
      expect(sessions.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['Laptop/2.0']);
      expect((await sessionsOf(phone.accessToken)).find((s) => s.current)?.userAgent).toBe('Phone/1.0');
    });

    it('revokes another of the caller’s sessions, whose access token is refused at once', async () => {
      const user = await registerUser(platform);
      const phone = await signInAgain(user, 'Phone/1.0');
      const phoneSession = (await sessionsOf(phone.accessToken)).find((s) => s.current)!;
      const response = await mutate('mutation($id: ID!) { revokeSession(id: $id) }', user.accessToken, {
        id: phoneSession.id,
      });
      expect(response.data).toEqual({ revokeSession: true });
      expect(errorCodes(await me(phone.accessToken))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await refresh(phone.refreshToken))).toEqual(['UNAUTHENTICATED']);
      expect((await sessionsOf(user.accessToken)).map((s) => s.id)).not.toContain(phoneSession.id);
      expect((await me(user.accessToken)).errors).toBeUndefined();
    });

    it('answers NOT_FOUND for another user’s session or a made-up id, and leaves it alone', async () => {
      const owner = await registerUser(platform);
      const stranger = await registerUser(platform);
      const [ownerSession] = await sessionsOf(owner.accessToken);
      for (const id of [ownerSession.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        const response = await mutate('mutation($id: ID!) { revokeSession(id: $id) }', stranger.accessToken, {
          id,
        });
        expect(errorCodes(response)).toEqual(['NOT_FOUND']);
      }
      expect((await me(owner.accessToken)).errors).toBeUndefined();
    });
  });
});

describe('revocations when Redis loses its data', () => {
  let proxy: TcpProxy;
  let platform: TestPlatform;

  beforeAll(async () => {
    // Every service reaches Redis through a relay this test can cut, as a Redis restart would.
    const redis = new URL(testServers().redisUrl);
    proxy = await startTcpProxy(redis.host);
    platform = await startTestPlatform('auth-revocation-restore', {
      env: { REDIS_URL: `redis://${proxy.host}${redis.pathname}` },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await proxy?.close();
  });

  const me = (accessToken: string) => postGraphQL(platform.gatewayUrl, ME, {}, bearer(accessToken));

  it('writes the revocations back from PostgreSQL once auth reconnects, so revoked tokens stay refused', async () => {
    const user = await registerUser(platform);
    const other = await registerUser(platform);
    await postGraphQL(platform.gatewayUrl, 'mutation { logout }', {}, bearer(user.accessToken));
    expect(errorCodes(await me(user.accessToken))).toEqual(['UNAUTHENTICATED']);

    // Redis comes back empty: the revoked session's access token would be good again...
    await deleteRedisKeys(testServers().redisUrl, platform.env.SESSION_REVOCATION_PREFIX);
    expect((await me(user.accessToken)).errors).toBeUndefined();
    // ...until auth's connection to it is re-established.
    proxy.dropAll();
    const deadline = Date.now() + 10_000;
    let codes = errorCodes(await me(user.accessToken));
    while (codes[0] !== 'UNAUTHENTICATED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      codes = errorCodes(await me(user.accessToken));
    }
    expect(codes).toEqual(['UNAUTHENTICATED']);
    expect((await me(other.accessToken)).errors).toBeUndefined();
  });
});
