import { AppError, unauthenticated, upstreamUnavailable } from '../../common/errors/errors';
import type { Identity } from '../../common/identity/identity';
import type { Logger } from '../../common/logging/logger';
import type { SessionRevocationList } from '../../common/identity/session-revocation';
import type { ContextInput } from '../context';
import type { AccessTokenVerifier } from './access-token-verifier';
import { clientDetails, type TrustedProxies } from './client-details';

const BEARER = /^Bearer +([A-Za-z0-9\-_.]+)$/;

/**
 * The token in an `Authorization` value; null when there is none (an anonymous caller). A value
 * that is there but not a bearer token is refused rather than ignored.
 */
export function bearerToken(authorization: string | undefined): string | null {
  if (authorization === undefined || authorization.trim() === '') return null;
  const match = BEARER.exec(authorization.trim());
  if (!match) throw unauthenticated('The Authorization header must be `Bearer <access token>`');
  return match[1];
}

export interface AuthenticatorOptions {
  verify: AccessTokenVerifier;
  revocations: Pick<SessionRevocationList, 'isRevoked'>;
  trustedProxies: TrustedProxies;
  logger: Logger;
}

/** Turns what a transport knows of a caller into the identity the subgraphs receive. */
export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  /**
   * Anonymous without a token; otherwise the token must verify and its session must not be
   * revoked. Rejects with an AppError: UNAUTHENTICATED for a bad token, UPSTREAM_UNAVAILABLE when
   * the keys or the revocation list cannot be read. Never anonymous for a token it cannot check.
   */
  async identify(input: ContextInput, requestId: string): Promise<Identity> {
    const client = { requestId, issuer: 'gateway', ...clientDetails(input, this.options.trustedProxies) };
    const token = bearerToken(input.authorization);
    if (token === null) return { userId: null, role: null, sessionId: null, ...client };
    const subject = await this.options.verify(token);
    if (await this.isRevoked(subject.sessionId)) {
      throw new AppError('UNAUTHENTICATED', 'This session has ended; sign in again');
    }
    return { userId: subject.userId, role: subject.role, sessionId: subject.sessionId, ...client };
  }

  private async isRevoked(sessionId: string): Promise<boolean> {
    try {
      return await this.options.revocations.isRevoked(sessionId);
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot read the session revocation list');
      throw upstreamUnavailable('redis');
    }
  }
}
