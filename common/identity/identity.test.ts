import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONNECTION_DIGEST,
  IDENTITY_CLOCK_SKEW_MS,
  IDENTITY_LIFETIME_MS,
  type Identity,
  type IdentityBinding,
  operationDigest,
  type SignedOperation,
  signIdentity,
  verifyIdentity,
} from './identity';

const secret = 'a-test-secret-that-is-long-enough-0000';
const identity: Identity = {
  userId: '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11',
  role: 'USER',
  sessionId: 'b2c4a0d6-0000-4000-8000-000000000001',
  requestId: 'req-1',
  issuer: 'gateway',
};
const operation = {
  query: 'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }',
  operationName: 'Send',
  variables: { input: { content: 'Hello', conversationId: null } },
};
const binding: IdentityBinding = { audience: 'chat', digest: operationDigest(operation) };

const expectRefused = (run: () => unknown) =>
  expect(run).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));

const payloadOf = (header: string) =>
  JSON.parse(Buffer.from(header.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

describe('signed identity', () => {
  it('round-trips an identity signed for a subgraph and an operation', () => {
    expect(verifyIdentity(signIdentity(identity, secret, binding), secret, binding).identity).toEqual(
      identity,
    );
  });

  it('carries anonymous callers as a null user, and the client address and user agent when known', () => {
    const anonymous = { ...identity, userId: null, role: null, sessionId: null };
    expect(verifyIdentity(signIdentity(anonymous, secret, binding), secret, binding).identity).toEqual(
      anonymous,
    );
    const fromClient = { ...identity, clientAddress: '203.0.113.7', userAgent: 'Mozilla/5.0' };
    expect(verifyIdentity(signIdentity(fromClient, secret, binding), secret, binding).identity).toEqual(
      fromClient,
    );
    const verified = verifyIdentity(signIdentity(identity, secret, binding), secret, binding).identity;
    expect(verified).not.toHaveProperty('clientAddress');
    expect(verified).not.toHaveProperty('userAgent');
  });

  it('gives every header a nonce of its own and says how long it is accepted', () => {
    const now = Date.now();
    const first = verifyIdentity(signIdentity(identity, secret, binding, now), secret, binding, now);
    const second = verifyIdentity(signIdentity(identity, secret, binding, now), secret, binding, now);
    expect(first.nonce).toMatch(/^[\w-]{22}$/);
    expect(second.nonce).not.toBe(first.nonce);
    expect(first.acceptedUntil).toBe(now + IDENTITY_LIFETIME_MS + IDENTITY_CLOCK_SKEW_MS);
  });

  it('refuses a missing header, another secret, and a payload changed after signing', () => {
    expectRefused(() => verifyIdentity(undefined, secret, binding));
    expectRefused(() => verifyIdentity('', secret, binding));
    expectRefused(() =>
      verifyIdentity(
        signIdentity(identity, 'another-secret-that-is-long-enough-000', binding),
        secret,
        binding,
      ),
    );
    const [version, payload, signature] = signIdentity(identity, secret, binding).split('.');
    const forged = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone-else' };
    expectRefused(() =>
      verifyIdentity(
        `${version}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`,
        secret,
        binding,
      ),
    );
  });

  it('refuses a header signed for another subgraph', () => {
    const forConversation = signIdentity(identity, secret, { ...binding, audience: 'conversation' });
    expectRefused(() => verifyIdentity(forConversation, secret, binding));
  });

  it('refuses a header signed for another operation, other variables or another operation name', () => {
    const header = signIdentity(identity, secret, binding);
    for (const other of [
      { ...operation, query: 'mutation { createConversation { id } }' },
      { ...operation, variables: { input: { content: 'Something else', conversationId: null } } },
      { ...operation, operationName: 'Other' },
    ]) {
      expectRefused(() => verifyIdentity(header, secret, { ...binding, digest: operationDigest(other) }));
    }
    expectRefused(() => verifyIdentity(header, secret, { ...binding, digest: CONNECTION_DIGEST }));
  });

  it('binds to the operation as received: the digest of the JSON the verifier parsed is the signer’s', () => {
    const received = JSON.parse(JSON.stringify(operation)) as typeof operation;
    expect(operationDigest(received)).toBe(binding.digest);
    // A missing member and a null one are the same request.
    expect(operationDigest({ query: '{ a }' })).toBe(
      operationDigest({ query: '{ a }', operationName: null, variables: null }),
    );
  });

  it('refuses a header past its lifetime or signed in the future, beyond the clock skew', () => {
    const now = Date.now();
    const expired = signIdentity(
      identity,
      secret,
      binding,
      now - IDENTITY_LIFETIME_MS - IDENTITY_CLOCK_SKEW_MS - 1,
    );
    expectRefused(() => verifyIdentity(expired, secret, binding, now));
    const future = signIdentity(identity, secret, binding, now + IDENTITY_CLOCK_SKEW_MS + 1);
    expectRefused(() => verifyIdentity(future, secret, binding, now));
    const late = signIdentity(identity, secret, binding, now - IDENTITY_LIFETIME_MS);
    expect(verifyIdentity(late, secret, binding, now).identity).toEqual(identity);
  });

  it('refuses a header whose signer claimed a lifetime longer than a verifier allows', () => {
    const header = signIdentity(identity, secret, binding);
    const payload = { ...payloadOf(header), exp: (payloadOf(header).iat as number) + 3_600_000 };
    const body = `v2.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const resigned = `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    expectRefused(() => verifyIdentity(resigned, secret, binding));
  });

  it('refuses malformed headers and other versions, v1 included', () => {
    expectRefused(() => verifyIdentity('not-a-header', secret, binding));
    expectRefused(() => verifyIdentity('v1.e30.abc', secret, binding));
    expectRefused(() =>
      verifyIdentity(signIdentity(identity, secret, binding).replace(/^v2/, 'v1'), secret, binding),
    );
  });
});

describe('the example in docs/protocol.md', () => {
  it('verifies as the document says', () => {
    const doc = readFileSync(join(__dirname, '../../docs/protocol.md'), 'utf8');
    const header = /x-identity: (v2\.eyJ\S+)/.exec(doc)?.[1];
    const body = /the body\n\n```json\n(.*)\n```/.exec(doc);
    expect(header).toBeDefined();
    expect(body).not.toBeNull();
    const operation = JSON.parse((body as RegExpExecArray)[1]) as SignedOperation;
    const verified = verifyIdentity(
      header,
      'an-example-secret-of-at-least-32-chars',
      { audience: 'auth', digest: operationDigest(operation) },
      1795000001000,
    );
    expect(verified).toMatchObject({
      identity: {
        userId: '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11',
        role: 'USER',
        clientAddress: '203.0.113.7',
      },
      nonce: 'q0TW2q8aYz7Xb1cV9nL3sA',
      acceptedUntil: 1795000035000,
    });
    expect(doc).toContain(CONNECTION_DIGEST);
  });
});
