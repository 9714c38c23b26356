import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../common/identity/access-token';
import { silentLogger } from '../../common/testing/logger';
import { AccessTokenIssuer } from '../../subgraphs/auth/services/access-token-issuer';
import { generateKeyPairJwk, type KeyPair, StaticKeyStore } from '../../subgraphs/auth/services/signing-keys';
import { createAccessTokenVerifier } from './access-token-verifier';
import { JwksCache } from './jwks-cache';

const ISSUER = 'urn:llm-chat:auth';
const AUDIENCE = 'urn:llm-chat:api';
const TTL_SECONDS = 900;

/** A verifier over a key set the test controls, counting the signature checks it makes. */
function verifierOver(published: { keys: KeyPair[] }, clock: { now: number }) {
  const keys = new JwksCache({
    fetchKeySet: async () => ({ keys: published.keys.map((key) => key.publicJwk) }),
    maxAgeMs: 300_000,
    cooldownMs: 0,
    logger: silentLogger(),
    now: () => clock.now,
  });
  const checks = { signatures: 0 };
  const verify = createAccessTokenVerifier({
    keys: {
      getKey: (header, token) => {
        checks.signatures++;
        return keys.getKey(header, token);
      },
      holds: (kid) => keys.holds(kid),
    },
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock.now,
  });
  return { verify, checks };
}

async function tokenSignedBy(key: KeyPair, issuedAt: number) {
  const issuer = new AccessTokenIssuer(await StaticKeyStore.create(key.privateJwk), {
    issuer: ISSUER,
    audience: AUDIENCE,
    ttlSeconds: TTL_SECONDS,
    now: () => issuedAt,
  });
  return (await issuer.issue({ userId: randomUUID(), sessionId: randomUUID(), role: 'USER' })).token;
}

describe('verifying access tokens', () => {
  let key: KeyPair;
  let otherKey: KeyPair;
  const start = 1_800_000_000_000;

  beforeAll(async () => {
    [key, otherKey] = await Promise.all([generateKeyPairJwk('ES256'), generateKeyPairJwk('EdDSA')]);
  });

  it('checks a token’s signature once, and accepts it again from memory', async () => {
    const clock = { now: start };
    const { verify, checks } = verifierOver({ keys: [key] }, clock);
    const token = await tokenSignedBy(key, start);

    const subject = await verify(token);
    clock.now += 60_000;

    await expect(verify(token)).resolves.toEqual(subject);
    expect(checks.signatures).toBe(1);
  });

  it('refuses a remembered token once jose would call it expired', async () => {
    const clock = { now: start };
    const { verify } = verifierOver({ keys: [key] }, clock);
    const token = await tokenSignedBy(key, start);
    await verify(token);

    clock.now = start + (TTL_SECONDS + ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS) * 1000 - 1;
    await expect(verify(token)).resolves.toBeDefined();
    clock.now += 1;
    await expect(verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses a remembered token whose key auth no longer publishes', async () => {
    const clock = { now: start };
    const published = { keys: [otherKey] };
    const { verify, checks } = verifierOver(published, clock);
    const retired = await tokenSignedBy(otherKey, start);
    await verify(retired);

    // Auth rotates: a token under the new key makes the gateway fetch the set, now without otherKey.
    published.keys = [key];
    await verify(await tokenSignedBy(key, start));

    await expect(verify(retired)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(checks.signatures).toBe(3);
  });

  it('never remembers a token that failed: each attempt is checked again', async () => {
    const clock = { now: start };
    const { verify, checks } = verifierOver({ keys: [key] }, clock);
    const [header, payload] = (await tokenSignedBy(key, start)).split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;

    await expect(verify(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(checks.signatures).toBe(2);
  });
});
