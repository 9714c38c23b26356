import {
  ACCESS_TOKEN_ALGORITHMS,
  ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
  ACCESS_TOKEN_TYPE,
  type AccessTokenSubject,
  subjectOf,
} from '../../common/identity/access-token';
import { AppError, upstreamUnavailable } from '../../common/errors/errors';
import { BoundedCache } from '../../common/util/bounded-cache';
import { loadJose } from '../../common/util/jose';
import { type JwksCache, KeySetUnavailableError } from './jwks-cache';

export interface AccessTokenVerifierOptions {
  keys: Pick<JwksCache, 'getKey' | 'holds'>;
  issuer: string;
  audience: string;
  /** The time tokens are checked against (milliseconds since the epoch); the system clock by default. */
  now?: () => number;
  /** How many verified tokens are remembered (the least recently used are forgotten first). */
  verifiedTokens?: number;
}

/** A token that verified, until it expires or its key leaves the key set. */
interface VerifiedToken {
  subject: AccessTokenSubject;
  kid: string;
  /** Past this (milliseconds since the epoch) jose would refuse it as expired. */
  acceptedUntil: number;
}

const DEFAULT_VERIFIED_TOKENS = 10_000;

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenSubject>;

/**
 * Checks signature (against auth's published keys), algorithm, type, issuer, audience and
 * expiry. Every defect is one vague UNAUTHENTICATED; only missing keys are UPSTREAM_UNAVAILABLE.
 *
 * A client sends the same token with every request until it expires, and checking a signature
 * is most of what authenticating a request costs: a token that verified is remembered, and
 * accepted again without that check while jose would still accept it as unexpired and its key is
 * still in auth's key set. Nothing else about a token changes with time; whether its session was
 * revoked is the Authenticator's check, on every request.
 */
export function createAccessTokenVerifier({
  keys,
  issuer,
  audience,
  now = Date.now,
  verifiedTokens = DEFAULT_VERIFIED_TOKENS,
}: AccessTokenVerifierOptions): AccessTokenVerifier {
  const verified = new BoundedCache<string, VerifiedToken>(verifiedTokens);
  return async (token) => {
    const remembered = verified.get(token);
    if (remembered && now() < remembered.acceptedUntil && keys.holds(remembered.kid)) {
      return remembered.subject;
    }
    const { jwtVerify, errors } = await loadJose();
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys.getKey, {
        issuer,
        audience,
        algorithms: [...ACCESS_TOKEN_ALGORITHMS],
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
      const subject = subjectOf(payload);
      if (protectedHeader.kid !== undefined && payload.exp !== undefined) {
        verified.set(token, {
          subject,
          kid: protectedHeader.kid,
          acceptedUntil: (payload.exp + ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS) * 1000,
        });
      }
      return subject;
    } catch (error) {
      if (error instanceof KeySetUnavailableError) throw upstreamUnavailable('auth');
      if (error instanceof errors.JOSEError) {
        throw new AppError('UNAUTHENTICATED', 'Invalid or expired access token');
      }
      throw error;
    }
  };
}
