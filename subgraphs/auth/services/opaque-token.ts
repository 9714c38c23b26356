import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe: refresh and password reset tokens. Shown once, never stored. */
export const newOpaqueToken = (): string => randomBytes(32).toString('base64url');

/**
 * What is stored instead of the token. A plain SHA-256 suffices (no salt, no slow hash):
 * the token has 256 bits of entropy, so it cannot be guessed from its hash.
 */
export const hashOpaqueToken = (token: string): string => createHash('sha256').update(token).digest('hex');
