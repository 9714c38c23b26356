import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JWK } from 'jose' with { 'resolution-mode': 'import' };
import type { SealedJwk } from '../records/signing-key.record';

const isSealed = (stored: JWK | SealedJwk): stored is SealedJwk => (stored as SealedJwk).sealed === 'A256GCM';

/**
 * Encrypts private signing keys before they are stored and decrypts them when they sign, so a copy
 * of the database (a backup, a read replica) cannot mint access tokens. Without an encryption key,
 * keys are stored as they are and read as they are.
 */
export class JwkSealer {
  private readonly key: Buffer | undefined;

  /** @param hexKey 32 bytes in hex (`openssl rand -hex 32`), or none. */
  constructor(hexKey?: string) {
    this.key = hexKey ? Buffer.from(hexKey, 'hex') : undefined;
  }

  seal(jwk: JWK, kid: string): JWK | SealedJwk {
    if (!this.key) return jwk;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(kid));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
    return {
      sealed: 'A256GCM',
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
    };
  }

  /** Whether a key is configured, so that keys are stored sealed. */
  get sealing(): boolean {
    return this.key !== undefined;
  }

  /** Whether a stored key is sealed (by whichever encryption key). */
  isSealed(stored: JWK | SealedJwk): boolean {
    return isSealed(stored);
  }

  open(stored: JWK | SealedJwk, kid: string): JWK {
    if (!isSealed(stored)) return stored;
    if (!this.key)
      throw new Error(
        `signing key ${kid} is encrypted: set SIGNING_KEY_ENCRYPTION_KEY to the key it was sealed with`,
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(stored.iv, 'base64url'))
        .setAAD(Buffer.from(kid))
        .setAuthTag(Buffer.from(stored.tag, 'base64url'));
      const plain = Buffer.concat([
        decipher.update(Buffer.from(stored.ciphertext, 'base64url')),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as JWK;
    } catch {
      throw new Error(
        `signing key ${kid} does not open with SIGNING_KEY_ENCRYPTION_KEY (another key sealed it)`,
      );
    }
  }
}
