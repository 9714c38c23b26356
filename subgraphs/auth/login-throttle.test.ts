import { randomUUID } from 'node:crypto';
import { registerUser } from '../../common/testing/auth';
import { errorCodes, type GraphQLResponse, postGraphQL } from '../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../common/testing/platform';

const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}`;

let addresses = 0;
/** Each test signs in from addresses of its own, so their counts do not meet. */
const freshAddress = () => `198.51.100.${++addresses}`;

describe('login throttling through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-throttle', {
      env: {
        LOGIN_FAILURES_PER_EMAIL: '3',
        LOGIN_FAILURES_PER_ADDRESS: '5',
        // The test plays clients behind the gateway's (trusted) proxy, one address each.
        TRUSTED_PROXIES: '127.0.0.1, ::1',
      },
    });
  });
  afterAll(() => platform?.stop());

  const login = (email: string, password: string, address: string) =>
    postGraphQL(platform.gatewayUrl, LOGIN, { email, password }, { 'x-forwarded-for': address });
  const expectRateLimited = (response: GraphQLResponse<unknown>) => {
    expect(errorCodes(response)).toEqual(['RATE_LIMITED']);
    expect(response.errors?.[0].extensions?.retryAfter).toEqual(expect.any(Number));
    expect(response.errors?.[0].extensions?.retryAfter).toBeGreaterThan(0);
    return response.errors?.[0].message;
  };

  it('stops password guesses on one account, even the right one, until the window passes', async () => {
    const user = await registerUser(platform);
    const attacker = freshAddress();
    for (let guess = 0; guess < 3; guess++) {
      expect(errorCodes(await login(user.email, `guess number ${guess}`, attacker))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    expectRateLimited(await login(user.email, user.password, attacker));
    expectRateLimited(await login(user.email, user.password, freshAddress()));
  });

  it('counts consecutive failures: a successful login starts the count again', async () => {
    const user = await registerUser(platform);
    const address = freshAddress();
    for (let guess = 0; guess < 2; guess++) await login(user.email, `typo ${guess}`, address);
    expect((await login(user.email, user.password, address)).errors).toBeUndefined();
    for (let guess = 0; guess < 2; guess++) await login(user.email, `typo again ${guess}`, address);
    expect((await login(user.email, user.password, address)).errors).toBeUndefined();
  });

  it('stops one address guessing across many accounts, without saying which limit it hit', async () => {
    const target = await registerUser(platform);
    const sprayer = freshAddress();
    for (let account = 0; account < 5; account++) {
      const response = await login(`sprayed-${randomUUID()}@example.test`, 'password spray', sprayer);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    }
    const byAddress = expectRateLimited(await login(target.email, target.password, sprayer));
    expect((await login(target.email, target.password, freshAddress())).errors).toBeUndefined();

    const guessed = await registerUser(platform);
    const guesser = freshAddress();
    for (let guess = 0; guess < 3; guess++) await login(guessed.email, `wrong ${guess}`, guesser);
    const byEmail = expectRateLimited(await login(guessed.email, 'wrong again', guesser));
    expect(byAddress).toBe(byEmail);
  });
});
