import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { bearer, registerUser, type TestUser } from '../../../common/testing/auth';
import { testServers } from '../../../common/testing/env';
import { errorCodes, type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { silentLogger } from '../../../common/testing/logger';
import { type Mailbox, type ReceivedMail, startMailbox } from '../../../common/testing/mailbox';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';
import { startAuthSubgraph } from '../app';
import { runAdminCommand } from '../cli/admin';
import { loadAuthConfig } from '../config';

const VERIFY = 'mutation($token: String!) { verifyEmail(token: $token) { id emailVerified } }';
const RESEND = 'mutation { resendVerification }';
const ME = '{ me { id role emailVerified } }';
const REFRESH = 'mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }';
const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken refreshToken }
}`;
const SET_ROLE = `mutation($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }`;
const REQUEST_RESET = 'mutation($email: String!) { requestPasswordReset(email: $email) }';
const RESET =
  'mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`;

/** Addresses in ADMIN_EMAILS that nobody has registered when the platform starts. */
const listed = () => `admin-${randomUUID()}@example.test`;
const SQUATTED = listed();
const VERIFIED_BY_OWNER = listed();
const DEMOTED = listed();
const TAKEN_BACK = listed();
const ADMIN_EMAILS = [SQUATTED, VERIFIED_BY_OWNER, DEMOTED, TAKEN_BACK].join(',');

const tokenIn = (mail: ReceivedMail): string => {
  const match = /#token=([\w-]+)/.exec(mail.text);
  if (!match) throw new Error(`no link in:\n${mail.text}`);
  return match[1];
};

let addresses = 0;
/** Each test registers from addresses of its own, so their counts do not meet. */
const freshAddress = () => `203.0.113.${++addresses}`;

describe('email verification, and ADMIN_EMAILS on verified addresses only', () => {
  let platform: TestPlatform;
  let mailbox: Mailbox;

  beforeAll(async () => {
    mailbox = await startMailbox();
    platform = await startTestPlatform('auth-verification', {
      env: {
        SMTP_URL: mailbox.url,
        EMAIL_VERIFICATION_URL: 'https://chat.example.test/verify',
        VERIFICATION_MAILS_PER_HOUR: '2',
        ADMIN_EMAILS,
        LOGIN_FAILURES_PER_ADDRESS: '4',
        // Tests play clients behind the gateway's (trusted) proxy, one address each.
        TRUSTED_PROXIES: '127.0.0.1, ::1',
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await mailbox?.stop();
  });

  const gql = <Data = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => postGraphQL<Data>(platform.gatewayUrl, query, variables, headers);
  const register = (email?: string) =>
    registerUser({ gatewayUrl: platform.gatewayUrl }, email ? { email } : {});
  const mailTo = (email: string, subject: string) =>
    mailbox.next((mail) => mail.to.includes(email) && mail.subject === subject);
  const verificationToken = async (user: TestUser) =>
    tokenIn(await mailTo(user.email, 'Confirm your email address'));
  const verify = (user: TestUser, token: string) => gql(VERIFY, { token }, user.headers);
  /** New tokens, which carry the role the account has now. */
  const refreshed = async (user: TestUser): Promise<TestUser> => {
    const response = await gql<{ refreshToken: { accessToken: string; refreshToken: string } }>(REFRESH, {
      token: user.refreshToken,
    });
    const tokens = response.data!.refreshToken;
    return { ...user, ...tokens, headers: bearer(tokens.accessToken) };
  };
  const me = async (user: TestUser) =>
    (await gql<{ me: { role: string; emailVerified: boolean } }>(ME, {}, user.headers)).data?.me;
  /** Auth started again with this platform's configuration (ADMIN_EMAILS included), then stopped. */
  const restartAuth = async () => (await startAuthSubgraph(authConfig(), silentLogger())).stop();
  const expectBadToken = (response: GraphQLResponse<unknown>) => {
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.[0].extensions?.field).toBe('token');
  };

  it('mails a link at registration that verifies the address, once', async () => {
    const user = await register();
    expect(await me(user)).toMatchObject({ emailVerified: false });
    const mail = await mailTo(user.email, 'Confirm your email address');
    expect(mail.text).toContain('https://chat.example.test/verify#token=');
    const token = tokenIn(mail);
    expect(await verify(user, token)).toMatchObject({
      data: { verifyEmail: { id: user.id, emailVerified: true } },
    });
    expect(await me(user)).toMatchObject({ emailVerified: true });
    expectBadToken(await verify(user, token));
  });

  it('takes a token only from the account it was sent for, signed in', async () => {
    const user = await register();
    const stranger = await register();
    const token = await verificationToken(user);
    expect(errorCodes(await gql(VERIFY, { token }))).toEqual(['UNAUTHENTICATED']);
    expectBadToken(await verify(stranger, token));
    expect(await me(stranger)).toMatchObject({ emailVerified: false });
    expect((await verify(user, token)).errors).toBeUndefined();
  });

  it('refuses a replaced link, an expired one and a made-up one', async () => {
    const user = await register();
    const first = await verificationToken(user);
    expect(await gql(RESEND, {}, user.headers)).toMatchObject({ data: { resendVerification: true } });
    const second = await verificationToken(user);
    expectBadToken(await verify(user, first));
    await expireVerificationTokens(platform, user.id);
    expectBadToken(await verify(user, second));
    expectBadToken(await verify(user, 'made-up'));
    expect(await me(user)).toMatchObject({ emailVerified: false });
  });

  it('sends a few verification mails an hour, then RATE_LIMITED; none once verified', async () => {
    const user = await register();
    const token = await verificationToken(user);
    expect(await gql(RESEND, {}, user.headers)).toMatchObject({ data: { resendVerification: true } });
    const refused = await gql(RESEND, {}, user.headers);
    expect(errorCodes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0].extensions?.retryAfter).toBeGreaterThan(0);
    expectBadToken(await verify(user, token));

    const verified = await register();
    await verify(verified, await verificationToken(verified));
    expect(await gql(RESEND, {}, verified.headers)).toMatchObject({ data: { resendVerification: false } });
    expect(errorCodes(await gql(RESEND))).toEqual(['UNAUTHENTICATED']);
  });

  it('does not make an admin of someone who registered a listed address before its owner', async () => {
    const squatter = await register(SQUATTED);
    await restartAuth();
    // Before verification existed, this start promoted whoever had registered the address.
    expect(await me(await refreshed(squatter))).toMatchObject({ role: 'USER', emailVerified: false });
  });

  it('promotes a listed address when its owner verifies it, effective at the next refresh', async () => {
    const owner = await register(VERIFIED_BY_OWNER);
    expect(await me(owner)).toMatchObject({ role: 'USER' });
    await verify(owner, await verificationToken(owner));
    expect(await me(await refreshed(owner))).toMatchObject({ role: 'ADMIN', emailVerified: true });
  });

  it('promotes at start an account verified before its address was listed', async () => {
    const user = await register();
    await verify(user, await verificationToken(user));
    await (
      await startAuthSubgraph({ ...authConfig(), ADMIN_EMAILS: [user.email.toUpperCase()] }, silentLogger())
    ).stop();
    expect(await me(await refreshed(user))).toMatchObject({ role: 'ADMIN' });
  });

  it("keeps an operator's demotion of a listed, verified account across restarts", async () => {
    const admin = await refreshed(await promotedByCommandLine(await register()));
    const listedUser = await register(DEMOTED);
    await verify(listedUser, await verificationToken(listedUser));
    const demotion = await gql(SET_ROLE, { userId: listedUser.id, role: 'USER' }, admin.headers);
    expect(demotion.data).toEqual({ setUserRole: { id: listedUser.id, role: 'USER' } });
    await restartAuth();
    const signedIn = await gql<{ login: { accessToken: string } }>(LOGIN, {
      email: DEMOTED,
      password: listedUser.password,
    });
    const again = { ...listedUser, headers: bearer(signedIn.data!.login.accessToken) };
    expect(await me(again)).toMatchObject({ role: 'USER', emailVerified: true });
  });

  it('lets the owner of a squatted, listed address take it over by password reset, which verifies it', async () => {
    const squatter = await register(TAKEN_BACK);
    // The link registration sent reaches the owner, who cannot use it without the squatter's password.
    const squattersLink = await verificationToken(squatter);
    expect(errorCodes(await gql(VERIFY, { token: squattersLink }))).toEqual(['UNAUTHENTICATED']);

    await gql(REQUEST_RESET, { email: TAKEN_BACK });
    const resetToken = tokenIn(await mailTo(TAKEN_BACK, 'Reset your password'));
    const newPassword = `the owner's own passphrase ${randomUUID()}`;
    expect(await gql(RESET, { token: resetToken, password: newPassword })).toMatchObject({
      data: { resetPassword: true },
    });
    expect(errorCodes(await gql(ME, {}, squatter.headers))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gql(REFRESH, { token: squatter.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    const owner = await gql<{ login: { accessToken: string } }>(LOGIN, {
      email: TAKEN_BACK,
      password: newPassword,
    });
    expect((await gql(ME, {}, bearer(owner.data!.login.accessToken))).data).toMatchObject({
      me: { id: squatter.id, role: 'ADMIN', emailVerified: true },
    });
  });

  it('promotes an unverified account from the command line only when told the operator knows its holder', async () => {
    const user = await register();
    await expect(runAdminCommand(['promote', user.email], authConfig(), () => undefined)).rejects.toThrow(
      /has not verified its address/,
    );
    const stillUser = await refreshed(user);
    expect(await me(stillUser)).toMatchObject({ role: 'USER' });
    const promoted = await promotedByCommandLine(stillUser);
    expect(await me(await refreshed(promoted))).toMatchObject({ role: 'ADMIN' });
  });

  it('says an email is taken, but counts each such answer as a failure of the asking address', async () => {
    const taken = await Promise.all([1, 2, 3, 4].map(() => register()));
    const prober = freshAddress();
    const registerFrom = (email: string, address: string) =>
      gql(
        REGISTER,
        { input: { email, password: `a fine passphrase ${randomUUID()}`, displayName: 'Prober' } },
        { 'x-forwarded-for': address },
      );
    for (const user of taken) {
      const response = await registerFrom(user.email, prober);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0].extensions?.field).toBe('email');
    }
    // Over the address's limit, every registration is refused alike, taken email or not.
    expect(errorCodes(await registerFrom(taken[0].email, prober))).toEqual(['RATE_LIMITED']);
    expect(errorCodes(await registerFrom(`new-${randomUUID()}@example.test`, prober))).toEqual([
      'RATE_LIMITED',
    ]);
    expect((await registerFrom(`new-${randomUUID()}@example.test`, freshAddress())).errors).toBeUndefined();
  });

  function authConfig() {
    return loadAuthConfig({ ...platform.env, REDIS_KEY_PREFIX: `${platform.namespace}:auth:` });
  }

  async function promotedByCommandLine(user: TestUser): Promise<TestUser> {
    await runAdminCommand(['promote', '--unverified', user.email], authConfig(), () => undefined);
    return user;
  }
});

async function expireVerificationTokens(platform: TestPlatform, userId: string): Promise<void> {
  const client = new Client({ connectionString: testServers().databaseUrl });
  await client.connect();
  try {
    await client.query(
      `update "${platform.env.AUTH_DB_SCHEMA}"."email_verification_tokens"
         set "expires_at" = now() - interval '1 second' where "user_id" = $1`,
      [userId],
    );
  } finally {
    await client.end();
  }
}
