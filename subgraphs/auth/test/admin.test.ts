import { randomUUID } from 'node:crypto';
import { IDENTITY_HEADER, operationDigest, signIdentity } from '../../../common/identity/identity';
import { bearer, registerUser, type TestUser } from '../../../common/testing/auth';
import { TEST_IDENTITY_SECRET } from '../../../common/testing/env';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { runAdminCommand } from '../cli/admin';
import { loadAuthConfig } from '../config';

const USERS = `query($first: Int, $after: String) {
  users(first: $first, after: $after) {
    edges { cursor node { id email role } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const SET_ROLE = `mutation($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }`;
const REFRESH = 'mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }';
const ME = '{ me { role } }';

describe('roles and admin operations through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-admin');
  });
  afterAll(() => platform?.stop());

  const gql = (query: string, variables: Record<string, unknown> = {}, headers = {}) =>
    postGraphQL(platform.gatewayUrl, query, variables, headers);
  /** Auth's configuration in this platform, for the command line and a restart. */
  const authConfig = (env: Record<string, string> = {}) =>
    loadAuthConfig({ ...platform.env, REDIS_KEY_PREFIX: `${platform.namespace}:auth:`, ...env });
  /** New tokens carry the role the account has now. */
  const refreshed = async (user: TestUser) => {
    const response = await gql(REFRESH, { token: user.refreshToken });
    const tokens = (response.data as { refreshToken: { accessToken: string; refreshToken: string } })
      .refreshToken;
    return { ...user, ...tokens, headers: bearer(tokens.accessToken) };
  };
  const promoted = async (user: TestUser) => {
    await runAdminCommand(['promote', '--unverified', user.email], authConfig(), () => undefined);
    return refreshed(user);
  };

  it('refuses the admin-only operations to a user (FORBIDDEN) and to anonymous callers (UNAUTHENTICATED)', async () => {
    const user = await registerUser(platform);
    const victim = await registerUser(platform);
    expect(errorCodes(await gql(USERS, {}, user.headers))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gql(SET_ROLE, { userId: user.id, role: 'ADMIN' }, user.headers))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await gql(SET_ROLE, { userId: victim.id, role: 'ADMIN' }, user.headers))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await gql(USERS))).toEqual(['UNAUTHENTICATED']);
    expect((await gql(ME, {}, user.headers)).data).toEqual({ me: { role: 'USER' } });
  });

  it('makes the first admin from the command line, effective at the next token refresh', async () => {
    const user = await registerUser(platform);
    const lines: string[] = [];
    await runAdminCommand(['promote', '--unverified', user.email.toUpperCase()], authConfig(), (line) =>
      lines.push(line),
    );
    expect(lines).toEqual([`${user.email} is now ADMIN (from their next sign-in or token refresh)`]);
    const admin = await refreshed(user);
    expect((await gql(ME, {}, admin.headers)).data).toEqual({ me: { role: 'ADMIN' } });
    expect((await gql(USERS, {}, admin.headers)).errors).toBeUndefined();
  });

  it('explains command-line mistakes instead of promoting anyone', async () => {
    await expect(runAdminCommand(['promote'], authConfig(), () => undefined)).rejects.toThrow(/usage:/);
    await expect(
      runAdminCommand(['promote', 'nobody-at-all@example.test'], authConfig(), () => undefined),
    ).rejects.toThrow(/No account has the email/);
  });

  it('lets an admin page through every account, oldest first', async () => {
    const admin = await promoted(await registerUser(platform));
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const response = await gql(USERS, { first: 2, after }, admin.headers);
      const page = (
        response.data as {
          users: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
        }
      ).users;
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(admin.id);
    expect(errorCodes(await gql(USERS, { first: 0 }, admin.headers))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await gql(USERS, { after: 'garbage' }, admin.headers))).toEqual(['BAD_USER_INPUT']);
  });

  it('lets an admin promote a user, and demote them again, which signs them out at once', async () => {
    const admin = await promoted(await registerUser(platform));
    const user = await registerUser(platform);
    const promotion = await gql(SET_ROLE, { userId: user.id, role: 'ADMIN' }, admin.headers);
    expect(promotion.data).toEqual({ setUserRole: { id: user.id, role: 'ADMIN' } });
    const promotedUser = await refreshed(user);
    expect((await gql(USERS, {}, promotedUser.headers)).errors).toBeUndefined();

    const demotion = await gql(SET_ROLE, { userId: user.id, role: 'USER' }, admin.headers);
    expect(demotion.data).toEqual({ setUserRole: { id: user.id, role: 'USER' } });
    expect(errorCodes(await gql(USERS, {}, promotedUser.headers))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gql(REFRESH, { token: promotedUser.refreshToken }))).toEqual(['UNAUTHENTICATED']);
  });

  it('does not let an admin change their own role, nor a role of a user that does not exist', async () => {
    const admin = await promoted(await registerUser(platform));
    const self = await gql(SET_ROLE, { userId: admin.id, role: 'USER' }, admin.headers);
    expect(errorCodes(self)).toEqual(['BAD_USER_INPUT']);
    expect(self.errors?.[0].extensions?.field).toBe('userId');
    const missing = await gql(SET_ROLE, { userId: randomUUID(), role: 'ADMIN' }, admin.headers);
    expect(errorCodes(missing)).toEqual(['NOT_FOUND']);
  });

  it('ignores an identity header a client sends: only the token the gateway verified counts', async () => {
    const user = await registerUser(platform);
    const claimedAdmin = signIdentity(
      { userId: user.id, role: 'ADMIN', sessionId: null, requestId: 'forged', issuer: 'gateway' },
      TEST_IDENTITY_SECRET,
      { audience: 'auth', digest: operationDigest({ query: USERS, variables: {} }) },
    );
    expect(errorCodes(await gql(USERS, {}, { [IDENTITY_HEADER]: claimedAdmin }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(errorCodes(await gql(USERS, {}, { ...user.headers, [IDENTITY_HEADER]: claimedAdmin }))).toEqual([
      'FORBIDDEN',
    ]);
  });
});
