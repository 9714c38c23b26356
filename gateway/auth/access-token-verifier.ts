import {
  ACCESS_TOKEN_ALGORITHMS,
  ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
  ACCESS_TOKEN_TYPE,
  type AccessTokenSubject,
  subjectOf,
} from '../../common/identity/access-token';
import { AppError, upstreamUnavailable } from '../../common/errors/errors';
import { loadJose } from '../../common/util/jose';
import { type JwksCache, KeySetUnavailableError } from './jwks-cache';

export interface AccessTokenVerifierOptions {
  keys: Pick<JwksCache, 'getKey'>;
  issuer: string;
  audience: string;
  /** The time tokens are checked against (milliseconds since the epoch); the system clock by default. */
  now?: () => number;
}

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenSubject>;

/**
 * Checks signature (against auth's published keys), algorithm, type, issuer, audience and
 * expiry. Every defect is one vague UNAUTHENTICATED; only missing keys are UPSTREAM_UNAVAILABLE.
 */
export function createAccessTokenVerifier({
  keys,
  issuer,
  audience,
  now = Date.now,
}: AccessTokenVerifierOptions): AccessTokenVerifier {
  return async (token) => {
    const { jwtVerify, errors } = await loadJose();
    try {
      const { payload } = await jwtVerify(token, keys.getKey, {
        issuer,
        audience,
        algorithms: [...ACCESS_TOKEN_ALGORITHMS],
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
      return subjectOf(payload);
    } catch (error) {
      if (error instanceof KeySetUnavailableError) throw upstreamUnavailable('auth');
      if (error instanceof errors.JOSEError) {
        throw new AppError('UNAUTHENTICATED', 'Invalid or expired access token');
      }
      throw error;
    }
  };
}
