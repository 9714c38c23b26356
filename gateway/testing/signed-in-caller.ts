import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearer } from '../../common/testing/auth';
import { AccessTokenIssuer } from '../../subgraphs/auth/services/access-token-issuer';
import { generateKeyPairJwk, StaticKeyStore } from '../../subgraphs/auth/services/signing-keys';

export interface SignedInCaller {
  userId: string;
  /** Give the gateway as JWKS_URL: it serves the public half of the key the token is signed with. */
  jwksUrl: string;
  /** The caller's Authorization header. */
  headers: Record<string, string>;
  close: () => Promise<void>;
}

/**
 * A signed-in caller for a gateway in front of stub subgraphs, which serve no JWKS: the gateway
 * refuses an anonymous caller's `me` before planning, so such tests sign a token with a key of
 * their own and serve its public half themselves.
 */
export async function signedInCaller(): Promise<SignedInCaller> {
  const { privateJwk, publicJwk } = await generateKeyPairJwk('ES256');
  const jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const issuer = new AccessTokenIssuer(await StaticKeyStore.create(privateJwk), {
    issuer: 'urn:llm-chat:auth',
    audience: 'urn:llm-chat:api',
    ttlSeconds: 900,
  });
  const userId = randomUUID();
  const { token } = await issuer.issue({ userId, sessionId: randomUUID(), role: 'USER' });
  return {
    userId,
    jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
    headers: bearer(token),
    close: () => new Promise((resolve) => jwks.close(() => resolve())),
  };
}
