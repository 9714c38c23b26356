import { Client } from 'pg';
import { bearer, registerUser, type TestUser } from '../../../common/testing/auth';
import { testServers } from '../../../common/testing/env';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { captureLogs, type CapturedLogger } from '../../../common/testing/logger';
import { type Mailbox, type ReceivedMail, startMailbox } from '../../../common/testing/mailbox';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const REQUEST_RESET = 'mutation($email: String!) { requestPasswordReset(email: $email) }';
const RESET =
  'mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }';
const CHANGE = `mutation($current: String!, $next: String!) {
  changePassword(currentPassword: $current, newPassword: $next)
}`;
const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken refreshToken }
}`;
const REFRESH = 'mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }';
const ME = '{ me { id } }';

/** Registration mails a verification link too; these tests take the reset mails. */
const isResetMail = (mail: ReceivedMail) => mail.subject === 'Reset your password';

const resetTokenIn = (mail: ReceivedMail): string => {
  const match = /#token=([\w-]+)/.exec(mail.text);
  if (!match) throw new Error(`no reset link in:\n${mail.text}`);
  return match[1];
};

describe('passwords through the gateway', () => {
  let platform: TestPlatform;
  let mailbox: Mailbox;
  let logs: CapturedLogger;

  beforeAll(async () => {
    mailbox = await startMailbox();
    logs = captureLogs('auth-passwords', 'trace');
    platform = await startTestPlatform('auth-passwords', {
      logger: logs.logger,
      env: { SMTP_URL: mailbox.url, PASSWORD_RESET_URL: 'https://chat.example.test/reset' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await mailbox?.stop();
  });

  const gql = <Data = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    headers = {},
  ) => postGraphQL<Data>(platform.gatewayUrl, query, variables, headers);
  const login = (email: string, password: string) =>
    gql<{ login: { accessToken: string; refreshToken: string } }>(LOGIN, { email, password });
  const me = (accessToken: string) => gql(ME, {}, bearer(accessToken));
  const mailedResetToken = async (user: TestUser) => {
    expect(await gql(REQUEST_RESET, { email: user.email })).toMatchObject({
      data: { requestPasswordReset: true },
    });
    const mail = await mailbox.next(isResetMail);
    expect(mail.to).toEqual([user.email]);
    return resetTokenIn(mail);
  };

  describe('password reset by mail', () => {
    it('answers true for an unknown email and sends nothing to it', async () => {
      const user = await registerUser(platform);
      const unknown = await gql(REQUEST_RESET, { email: 'nobody-here@example.test' });
      expect(unknown).toMatchObject({ data: { requestPasswordReset: true } });
      // Mails leave in request order, so the next one to arrive is for the real account.
      const token = await mailedResetToken(user);
      expect(token).toMatch(/^[\w-]{43}$/);
    });

    it('mails a link that sets a new password once, and signs the account out everywhere', async () => {
      const user = await registerUser(platform);
      const otherDevice = (await login(user.email, user.password)).data!.login;
      const mail = await (async () => {
        await gql(REQUEST_RESET, { email: user.email.toUpperCase() });
        return mailbox.next(isResetMail);
      })();
      expect(mail.text).toContain('https://chat.example.test/reset#token=');
      const token = resetTokenIn(mail);

      const reset = await gql(RESET, { token, password: 'a brand new passphrase' });
      expect(reset).toMatchObject({ data: { resetPassword: true } });
      for (const session of [user, otherDevice]) {
        expect(errorCodes(await me(session.accessToken))).toEqual(['UNAUTHENTICATED']);
        expect(errorCodes(await gql(REFRESH, { token: session.refreshToken }))).toEqual(['UNAUTHENTICATED']);
      }
      expect(errorCodes(await login(user.email, user.password))).toEqual(['UNAUTHENTICATED']);
      expect((await login(user.email, 'a brand new passphrase')).errors).toBeUndefined();

      const again = await gql(RESET, { token, password: 'yet another passphrase' });
      expect(errorCodes(again)).toEqual(['BAD_USER_INPUT']);
      expect(again.errors?.[0].extensions?.field).toBe('token');
    });

    it('keeps the link usable when the new password is refused', async () => {
      const user = await registerUser(platform);
      const token = await mailedResetToken(user);
      const weak = await gql(RESET, { token, password: 'password123' });
      expect(errorCodes(weak)).toEqual(['BAD_USER_INPUT']);
      expect(weak.errors?.[0].extensions?.field).toBe('newPassword');
      expect(await gql(RESET, { token, password: 'a strong replacement' })).toMatchObject({
        data: { resetPassword: true },
      });
    });

    it('accepts only the newest link when several were asked for', async () => {
      const user = await registerUser(platform);
      const first = await mailedResetToken(user);
      const second = await mailedResetToken(user);
      expect(errorCodes(await gql(RESET, { token: first, password: 'the first new passphrase' }))).toEqual([
        'BAD_USER_INPUT',
      ]);
      expect(await gql(RESET, { token: second, password: 'the second new passphrase' })).toMatchObject({
        data: { resetPassword: true },
      });
    });

    it('refuses a made-up token', async () => {
      const response = await gql(RESET, { token: 'made-up', password: 'a strong replacement' });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0].extensions?.field).toBe('token');
    });
  });

  describe('changePassword', () => {
    it('needs the current password, naming the field when it is wrong', async () => {
      const user = await registerUser(platform);
      const response = await gql(
        CHANGE,
        { current: 'not my password', next: 'a new passphrase' },
        user.headers,
      );
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0].extensions?.field).toBe('currentPassword');
    });

    it('applies the password policy to the new password', async () => {
      const user = await registerUser(platform);
      const response = await gql(CHANGE, { current: user.password, next: 'short' }, user.headers);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0].extensions?.field).toBe('newPassword');
    });

    it('changes it and signs out every other session, keeping this one', async () => {
      const user = await registerUser(platform);
      const otherDevice = (await login(user.email, user.password)).data!.login;
      const response = await gql(
        CHANGE,
        { current: user.password, next: 'my changed passphrase' },
        user.headers,
      );
      expect(response).toMatchObject({ data: { changePassword: true } });
      expect((await me(user.accessToken)).errors).toBeUndefined();
      expect(errorCodes(await me(otherDevice.accessToken))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await login(user.email, user.password))).toEqual(['UNAUTHENTICATED']);
      expect((await login(user.email, 'my changed passphrase')).errors).toBeUndefined();
    });

    it('needs a signed-in caller', async () => {
      const response = await gql(CHANGE, { current: 'whatever it was', next: 'a new passphrase' });
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    });
  });

  it('never writes a password, token or password hash to the log during a full auth flow', async () => {
    const secrets: string[] = [];
    const user = await registerUser(platform, { password: 'first secret passphrase' });
    secrets.push(user.password, user.accessToken, user.refreshToken);
    expect(errorCodes(await login(user.email, 'wrong secret passphrase'))).toEqual(['UNAUTHENTICATED']);
    secrets.push('wrong secret passphrase');
    const signedIn = (await login(user.email, user.password)).data!.login;
    const refreshed = (
      await gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(REFRESH, {
        token: signedIn.refreshToken,
      })
    ).data!.refreshToken;
    expect(errorCodes(await gql(REFRESH, { token: signedIn.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    secrets.push(signedIn.accessToken, signedIn.refreshToken, refreshed.accessToken, refreshed.refreshToken);
    await gql(CHANGE, { current: user.password, next: 'second secret passphrase' }, user.headers);
    const token = await mailedResetToken(user);
    await gql(RESET, { token, password: 'third secret passphrase' });
    secrets.push('second secret passphrase', token, 'third secret passphrase');
    const final = (await login(user.email, 'third secret passphrase')).data!.login;
    await gql('mutation { logout }', {}, bearer(final.accessToken));
    secrets.push(final.accessToken, final.refreshToken);
    secrets.push(...(await passwordHashes(platform)));

    const log = logs.lines().join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain('$argon2id$');
  });
});

async function passwordHashes(platform: TestPlatform): Promise<string[]> {
  const client = new Client({ connectionString: testServers().databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ password_hash: string }>(
      `select "password_hash" from "${platform.env.AUTH_DB_SCHEMA}"."users"`,
    );
    return rows.map((row) => row.password_hash);
  } finally {
    await client.end();
  }
}
