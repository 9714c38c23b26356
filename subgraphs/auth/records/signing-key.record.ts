import type { JWK } from 'jose' with { 'resolution-mode': 'import' };
import type { AccessTokenAlgorithm } from '../../../common/identity/access-token';

/** A private JWK as PostgreSQL keeps it under SIGNING_KEY_ENCRYPTION_KEY: AES-256-GCM, bound to its kid. */
export interface SealedJwk {
  sealed: 'A256GCM';
  iv: string;
  tag: string;
  ciphertext: string;
}

/** An access-token signing key pair as stored: published from creation, signing from `activatesAt`. */
export interface SigningKeyRecord {
  kid: string;
  algorithm: AccessTokenAlgorithm;
  publicJwk: JWK;
  /** Sealed (encrypted) when SIGNING_KEY_ENCRYPTION_KEY is set; see services/key-sealing.ts. */
  privateJwk: JWK | SealedJwk;
  activatesAt: Date;
}
