import { randomUUID } from 'node:crypto';
import { bearer, registerUser } from '../../../common/testing/auth';
import { errorCodes, type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
    user { id email displayName role createdAt }
  }
}`;
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken user { id email role } }
}`;
const ME = '{ me { id email displayName role } }';

const uniqueEmail = () => `someone-${randomUUID()}@example.test`;
const goodPassword = 'a long and unusual passphrase';

const fieldOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.field;

describe('accounts through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-accounts');
  });
  afterAll(() => platform?.stop());

  const register = (input: Record<string, unknown>) => postGraphQL(platform.gatewayUrl, REGISTER, { input });
  const login = (email: string, password: string) =>
    postGraphQL<{ login: { accessToken: string; user: { id: string } } }>(platform.gatewayUrl, LOGIN, {
      input: { email, password },
    });

  describe('register', () => {
    it('creates a USER account and signs it in with an access token, a refresh token and their expiry', async () => {
      const email = uniqueEmail();
      const response = await register({ email, password: goodPassword, displayName: 'Ada Lovelace' });
      expect(response.errors).toBeUndefined();
      const payload = (response.data as { register: Record<string, unknown> }).register;
      expect(payload).toMatchObject({
        accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        refreshToken: expect.stringMatching(/^[\w-]{43}$/),
        user: { email, displayName: 'Ada Lovelace', role: 'USER' },
      });
      const accessExpiry = Date.parse(payload.accessTokenExpiresAt as string) - Date.now();
      const refreshExpiry = Date.parse(payload.refreshTokenExpiresAt as string) - Date.now();
      expect(accessExpiry).toBeGreaterThan(14 * 60_000);
      expect(accessExpiry).toBeLessThanOrEqual(15 * 60_000);
      expect(refreshExpiry).toBeGreaterThan(29 * 24 * 3_600_000);
      expect(refreshExpiry).toBeLessThanOrEqual(30 * 24 * 3_600_000);
    });

    it('trims the email and treats it case-insensitively, so it cannot be registered twice', async () => {
      const email = uniqueEmail();
      const first = await register({
        email: `  ${email.toUpperCase()} `,
        password: goodPassword,
        displayName: 'Ada',
      });
      expect((first.data as { register: { user: { email: string } } }).register.user.email).toBe(email);
      const again = await register({ email, password: goodPassword, displayName: 'Ada again' });
      expect(errorCodes(again)).toEqual(['BAD_USER_INPUT']);
      expect(fieldOf(again)).toBe('email');
      expect((await login(email.toUpperCase(), goodPassword)).errors).toBeUndefined();
    });

    it.each([
      ['a short password', { password: 'too-short' }, 'password'],
      ['a password over 256 characters', { password: 'x'.repeat(257) }, 'password'],
      ['a common password', { password: 'password123' }, 'password'],
      ['a common password in other case', { password: 'QwertyUIOP' }, 'password'],
      ['a run of digits', { password: '1234567890' }, 'password'],
      ['a malformed email', { email: 'not-an-email' }, 'email'],
      ['an empty display name', { displayName: '   ' }, 'displayName'],
    ])('refuses %s with BAD_USER_INPUT naming the field', async (_case, override, field) => {
      const response = await register({
        email: uniqueEmail(),
        password: goodPassword,
        displayName: 'Ada',
        ...override,
      });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(fieldOf(response)).toBe(field);
      expect(response.errors?.[0]?.extensions).not.toHaveProperty('stacktrace');
    });

    it('cannot make an admin: the input has no role, and asking for one is refused', async () => {
      const response = await register({
        email: uniqueEmail(),
        password: goodPassword,
        displayName: 'Mallory',
        role: 'ADMIN',
      });
      expect(response.data ?? null).toBeNull();
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      const user = await registerUser(platform);
      const me = await postGraphQL<{ me: { role: string } }>(platform.gatewayUrl, ME, {}, user.headers);
      expect(me.data?.me.role).toBe('USER');
    });
  });

  describe('login', () => {
    it('signs in with the right password', async () => {
      const user = await registerUser(platform);
      const response = await login(user.email, user.password);
      expect(response.errors).toBeUndefined();
      expect(response.data?.login.user.id).toBe(user.id);
    });

    it('gives the same error for a wrong password and for an unknown email', async () => {
      const user = await registerUser(platform);
      const wrongPassword = await login(user.email, 'not the password at all');
      const unknownEmail = await login(uniqueEmail(), user.password);
      expect(errorCodes(wrongPassword)).toEqual(['UNAUTHENTICATED']);
      expect(wrongPassword.errors?.[0].message).toBe(unknownEmail.errors?.[0].message);
      expect(wrongPassword.errors?.[0].extensions?.code).toBe(unknownEmail.errors?.[0].extensions?.code);
    });

    it('opens a session per device: signing in again does not sign the first device out', async () => {
      const user = await registerUser(platform);
      const second = await login(user.email, user.password);
      const first = await postGraphQL(platform.gatewayUrl, ME, {}, user.headers);
      const other = await postGraphQL(platform.gatewayUrl, ME, {}, bearer(second.data!.login.accessToken));
      expect(first.errors).toBeUndefined();
      expect(other.errors).toBeUndefined();
    });
  });

  describe('me', () => {
    it('returns the caller', async () => {
      const user = await registerUser(platform, { displayName: 'Grace' });
      const response = await postGraphQL(platform.gatewayUrl, ME, {}, user.headers);
      expect(response.data).toEqual({
        me: { id: user.id, email: user.email, displayName: 'Grace', role: 'USER' },
      });
    });

    it('is UNAUTHENTICATED without a token (the gateway passes anonymous callers on)', async () => {
      expect(errorCodes(await postGraphQL(platform.gatewayUrl, ME))).toEqual(['UNAUTHENTICATED']);
    });

    it.each([
      ['a token that is not a JWT', 'Bearer not-a-jwt'],
      ['another scheme', 'Basic dXNlcjpwYXNz'],
      ['a bearer without token', 'Bearer'],
    ])(
      'refuses %s with 401 UNAUTHENTICATED, never treating it as anonymous',
      async (_case, authorization) => {
        const response = await postGraphQL(platform.gatewayUrl, '{ __typename }', {}, { authorization });
        expect(response.status).toBe(401);
        expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
        expect(response.errors?.[0].extensions?.requestId).toEqual(expect.any(String));
      },
    );
  });
});
