import { IDENTITY_MAX_AGE_MS, type Identity, signIdentity, verifyIdentity } from './identity';

const secret = 'a-test-secret-that-is-long-enough-0000';
const identity: Identity = {
  userId: '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11',
  role: 'USER',
  sessionId: 'b2c4a0d6-0000-4000-8000-000000000001',
  requestId: 'req-1',
  issuer: 'gateway',
};

const expectRefused = (run: () => unknown) =>
  expect(run).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));

describe('signed identity', () => {
  it('round-trips an identity signed with the shared secret', () => {
    expect(verifyIdentity(signIdentity(identity, secret), secret)).toEqual(identity);
  });

  it('carries anonymous callers as a null user', () => {
    const anonymous = { ...identity, userId: null, role: null, sessionId: null };
    expect(verifyIdentity(signIdentity(anonymous, secret), secret)).toEqual(anonymous);
  });

  it('carries the client address and user agent the gateway saw', () => {
    const fromClient = {
      ...identity,
      clientAddress: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    };
    expect(verifyIdentity(signIdentity(fromClient, secret), secret)).toEqual(fromClient);
  });

  it('leaves the client address and user agent out when the signer had none (service calls)', () => {
    const verified = verifyIdentity(signIdentity(identity, secret), secret);
    expect(verified).not.toHaveProperty('clientAddress');
    expect(verified).not.toHaveProperty('userAgent');
  });

  it('refuses a missing header', () => {
    expectRefused(() => verifyIdentity(undefined, secret));
    expectRefused(() => verifyIdentity('', secret));
  });

  it('refuses a header signed with another secret', () => {
    expectRefused(() =>
      verifyIdentity(signIdentity(identity, 'another-secret-that-is-long-enough-000'), secret),
    );
  });

  it('refuses a payload changed after signing (say, a forged user id)', () => {
    const [version, , signature] = signIdentity(identity, secret).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        sub: 'someone-else',
        role: 'ADMIN',
        sid: null,
        rid: 'x',
        iss: 'gateway',
        iat: Date.now(),
      }),
    ).toString('base64url');
    expectRefused(() => verifyIdentity(`${version}.${forged}.${signature}`, secret));
  });

  it('refuses a signature older or newer than the allowed skew', () => {
    const now = Date.now();
    expectRefused(() =>
      verifyIdentity(signIdentity(identity, secret, now - IDENTITY_MAX_AGE_MS - 1), secret, now),
    );
    expectRefused(() =>
      verifyIdentity(signIdentity(identity, secret, now + IDENTITY_MAX_AGE_MS + 1), secret, now),
    );
    expect(verifyIdentity(signIdentity(identity, secret, now - 1000), secret, now)).toEqual(identity);
  });

  it('refuses malformed headers and unknown versions', () => {
    expectRefused(() => verifyIdentity('not-a-header', secret));
    expectRefused(() => verifyIdentity('v2.e30.abc', secret));
    expectRefused(() => verifyIdentity(signIdentity(identity, secret).replace(/^v1/, 'v2'), secret));
  });
});
