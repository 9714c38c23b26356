import { randomUUID } from 'node:crypto';
import { registerUser } from '../../../common/testing/auth';
import { errorCodes, type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const LOGIN = `mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}`;

/** The first slow-down step (services/throttles.ts); later steps double it, up to the maximum. */
const FIRST_DELAY_MS = 250;

let addresses = 0;
/** Each test signs in from addresses of its own, so their counts do not meet. */
const freshAddress = () => `198.51.100.${++addresses}`;

describe('login throttling through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-throttle', {
      env: {
        LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS: '3',
        LOGIN_FAILURES_PER_ADDRESS: '5',
        LOGIN_SLOWDOWN_AFTER_FAILURES: '4',
        LOGIN_SLOWDOWN_MAX_DELAY_MS: '1000',
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
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, elapsedMs: performance.now() - started };
  };

  it("stops one address guessing an account's password, and lets the owner in from elsewhere", async () => {
    const user = await registerUser(platform);
    const attacker = freshAddress();
    for (let guess = 0; guess < 3; guess++) {
      expect(errorCodes(await login(user.email, `guess number ${guess}`, attacker))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    expectRateLimited(await login(user.email, user.password, attacker));
    // Five wrong passwords for someone else's email used to lock its owner out for the whole window.
    expect((await login(user.email, user.password, freshAddress())).errors).toBeUndefined();
  });

  it('slows an account down when guesses come from many addresses, but never locks its owner out', async () => {
    const user = await registerUser(platform);
    for (let guess = 0; guess < 8; guess++) {
      const response = await login(user.email, `distributed guess ${guess}`, freshAddress());
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    }
    const guess = await timed(() => login(user.email, 'one more guess', freshAddress()));
    expect(errorCodes(guess.result)).toEqual(['UNAUTHENTICATED']);
    expect(guess.elapsedMs).toBeGreaterThanOrEqual(FIRST_DELAY_MS);

    const owner = await timed(() => login(user.email, user.password, freshAddress()));
    expect(owner.result.errors).toBeUndefined();
    expect(owner.elapsedMs).toBeGreaterThanOrEqual(FIRST_DELAY_MS);
  });

  it('counts consecutive failures of an address on an account: a successful login starts again', async () => {
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
    const byPair = expectRateLimited(await login(guessed.email, 'wrong again', guesser));
    expect(byAddress).toBe(byPair);
  });
});
