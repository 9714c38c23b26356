import { AppError } from '../../common/errors/errors';
import { silentLogger } from '../../common/testing/logger';
import { TrustedProxies } from './client-details';
import { Authenticator, bearerToken } from './authenticator';

const subject = {
  userId: '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11',
  sessionId: 'b2c4a0d6-0000-4000-8000-000000000001',
  role: 'USER' as const,
};

function authenticator(revoked: () => Promise<boolean>, verify = async () => subject) {
  return new Authenticator({
    verify,
    revocations: { isRevoked: revoked },
    trustedProxies: new TrustedProxies([]),
    logger: silentLogger(),
  });
}

describe('bearerToken', () => {
  it('reads the token of a Bearer header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
  });

  it('treats a missing or empty header as no token', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('  ')).toBeNull();
  });

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'abc.def.ghi'])('refuses %p', (header) => {
    expect(() => bearerToken(header)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });
});

describe('Authenticator', () => {
  const request = { ip: '127.0.0.1', userAgent: 'Test/1.0' };

  it('passes a caller without a token on as anonymous, with the client details', async () => {
    const identity = await authenticator(async () => false).identify(request, 'req-1');
    expect(identity).toEqual({
      userId: null,
      role: null,
      sessionId: null,
      requestId: 'req-1',
      issuer: 'gateway',
      clientAddress: '127.0.0.1',
      userAgent: 'Test/1.0',
    });
  });

  it('carries a verified token’s user, role and session', async () => {
    const identity = await authenticator(async () => false).identify(
      { ...request, authorization: 'Bearer a.b.c' },
      'req-2',
    );
    expect(identity).toMatchObject({ ...subject, requestId: 'req-2' });
  });

  it('refuses a token of a revoked session', async () => {
    await expect(
      authenticator(async () => true).identify({ ...request, authorization: 'Bearer a.b.c' }, 'req-3'),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses a token with UPSTREAM_UNAVAILABLE when the revocation list cannot be read', async () => {
    const down = authenticator(() => Promise.reject(new Error('Connection is closed.')));
    await expect(down.identify({ ...request, authorization: 'Bearer a.b.c' }, 'req-4')).rejects.toMatchObject(
      {
        code: 'UPSTREAM_UNAVAILABLE',
      },
    );
  });

  it('passes the verifier’s refusal on unchanged', async () => {
    const refusal = new AppError('UNAUTHENTICATED', 'Invalid or expired access token');
    const failing = authenticator(
      async () => false,
      () => Promise.reject(refusal),
    );
    await expect(failing.identify({ ...request, authorization: 'Bearer a.b.c' }, 'req-5')).rejects.toBe(
      refusal,
    );
  });
});
