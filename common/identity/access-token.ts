import type { JWTPayload } from 'jose' with { 'resolution-mode': 'import' };
import { z } from 'zod';
import { AppError } from '../errors/errors';
import { isUuid } from '../util/ids';
import type { Role } from './roles';

/**
 * The access-token contract between auth (which signs) and the gateway (which verifies).
 * Documented in docs/protocol.md#access-tokens.
 */
export const ACCESS_TOKEN_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type AccessTokenAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];
/** The JOSE `typ` of access tokens (RFC 9068), so no other JWT signed by auth passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Allowed clock difference between auth and a verifier when checking `exp` and `iat`. */
export const ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS = 5;

/** Read by both services; they must agree, so the defaults live here once. */
export const accessTokenEnv = {
  JWT_ISSUER: z.string().min(1).default('urn:llm-chat:auth'),
  JWT_AUDIENCE: z.string().min(1).default('urn:llm-chat:api'),
};

/** What a verified access token says about its bearer. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  role: Role;
}

/** Checks the private claims of a token whose signature, issuer, audience and expiry are verified. */
export function subjectOf(payload: JWTPayload): AccessTokenSubject {
  const { sub, sid, role, jti } = payload;
  if (!isUuid(sub) || !isUuid(sid) || typeof jti !== 'string' || (role !== 'USER' && role !== 'ADMIN')) {
    throw new AppError('UNAUTHENTICATED', 'Invalid access token');
  }
  return { userId: sub, sessionId: sid, role };
}
