import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE, type AccessTokenSubject } from '../../../common/identity/access-token';
import { loadJose } from '../../../common/util/jose';
import type { KeyStore } from './signing-keys';

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now?: () => number;
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: Date;
}

/** Signs access tokens (claims in docs/protocol.md#access-tokens) with the store's active key. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: KeyStore,
    private readonly options: AccessTokenOptions,
  ) {}

  async issue({ userId, sessionId, role }: AccessTokenSubject): Promise<IssuedAccessToken> {
    const [{ SignJWT }, key] = await Promise.all([loadJose(), this.keys.signingKey()]);
    const issuedAt = Math.floor((this.options.now?.() ?? Date.now()) / 1000);
    const expiresAt = issuedAt + this.options.ttlSeconds;
    const token = await new SignJWT({ sid: sessionId, role })
      .setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(key.privateKey);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }
}
