import { notFound, unauthenticated, upstreamUnavailable } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import { isUuid } from '../../../common/util/ids';
import type { Logger } from '../../../common/logging/logger';
import type { UserRecord } from '../records/user.record';
import type { SessionRepository } from '../repositories/session.repository';
import type { UserRepository } from '../repositories/user.repository';
import type { AccessTokenIssuer } from './access-token-issuer';
import { hashOpaqueToken, newOpaqueToken } from './opaque-token';

/** What register, login and refreshToken answer. */
export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: UserRecord;
}

export interface SessionSummary {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string | null;
  current: boolean;
}

export interface SessionServiceOptions {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

const USER_AGENT_MAX_LENGTH = 512;

/** Sessions `Query.sessions` lists (its `@listSize`): the most recently used ones. */
export const MAX_SESSIONS_LISTED = 50;

const invalidRefreshToken = () => unauthenticated('Invalid or expired refresh token');

/** Sessions (one per signed-in device), their rotating refresh tokens, and their revocation. */
export class SessionService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserRepository,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly options: SessionServiceOptions,
    private readonly logger: Logger,
  ) {}

  /** Signs a user in on a new device: a new session, whatever other sessions they have. */
  async open(caller: Caller, user: UserRecord): Promise<SessionTokens> {
    const refreshToken = newOpaqueToken();
    const expiresAt = this.refreshTokenExpiry();
    const sessionId = await this.sessions.open({
      userId: user.id,
      userAgent: caller.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) ?? null,
      refreshTokenHash: hashOpaqueToken(refreshToken),
      expiresAt,
    });
    return this.tokens(user, sessionId, refreshToken, expiresAt);
  }

  /**
   * Exchanges a refresh token for new tokens. A token is good once: presenting it again (a
   * stolen copy, or the slower of two simultaneous refreshes) revokes the whole session.
   */
  async refresh(refreshToken: string): Promise<SessionTokens> {
    const nextToken = newOpaqueToken();
    const expiresAt = this.refreshTokenExpiry();
    const rotation = await this.sessions.rotate(
      hashOpaqueToken(refreshToken),
      hashOpaqueToken(nextToken),
      expiresAt,
    );
    if (rotation.outcome === 'reused') {
      await this.revokeSessions([rotation.sessionId]);
      this.logger.warn({ sessionId: rotation.sessionId }, 'refresh token reused: session revoked');
    }
    if (rotation.outcome !== 'rotated') throw invalidRefreshToken();
    const user = await this.users.findById(rotation.userId);
    if (!user) throw invalidRefreshToken();
    return this.tokens(user, rotation.sessionId, nextToken, expiresAt);
  }

  /** The caller's live sessions, most recently used first, at most MAX_SESSIONS_LISTED. */
  async list(caller: Caller): Promise<SessionSummary[]> {
    const sessions = await this.sessions.listLive(requireUser(caller).userId, MAX_SESSIONS_LISTED);
    return sessions.map((session) => ({ ...session, current: session.id === caller.sessionId }));
  }

  /** Ends one of the caller's sessions; anyone else's, or a dead one, is NOT_FOUND. */
  async revoke(caller: Caller, sessionId: string): Promise<void> {
    const { userId } = requireUser(caller);
    const session = isUuid(sessionId) ? await this.sessions.findLive(userId, sessionId) : null;
    if (!session) throw notFound('Session');
    await this.revokeSessions([session.id]);
  }

  /** Ends the session the caller's access token belongs to. */
  async logout(caller: Caller): Promise<void> {
    const { sessionId } = requireUser(caller);
    if (!sessionId) throw unauthenticated();
    await this.revokeSessions([sessionId]);
  }

  /** Ends every session of the caller, the current one included. */
  async logoutAll(caller: Caller): Promise<void> {
    await this.revokeAllOf(requireUser(caller).userId);
  }

  /** Ends every session of a user, except `keep` (the device that changed the password). */
  async revokeAllOf(userId: string, keep: string | null = null): Promise<void> {
    const sessionIds = await this.sessions.liveIdsOf(userId);
    await this.revokeSessions(sessionIds.filter((id) => id !== keep));
  }

  /**
   * Writes the revocations whose access tokens may still be live to Redis again, from PostgreSQL.
   * Redis keeps the list in memory: restarted empty, it would let those tokens through again for
   * the rest of their lifetime. Runs whenever the revocation list's connection becomes ready.
   */
  async republishRevocations(): Promise<number> {
    const tokensLive = new Date(Date.now() - this.options.accessTokenTtlSeconds * 1000);
    const revoked = await this.sessions.revokedSince(tokensLive);
    await this.sessions.publishRevocations(revoked, this.options.accessTokenTtlSeconds);
    return revoked.length;
  }

  /** Deletes sessions nobody can use any more: expired, or revoked longer ago than an access token lives. */
  deleteDead(): Promise<number> {
    return this.sessions.deleteDead(new Date(Date.now() - this.options.accessTokenTtlSeconds * 1000));
  }

  /**
   * Redis first, so the gateway refuses the sessions' access tokens at once; then PostgreSQL, so
   * their refresh tokens stop. If Redis fails nothing has changed, and the caller may simply retry.
   */
  private async revokeSessions(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    try {
      await this.sessions.publishRevocations(sessionIds, this.options.accessTokenTtlSeconds);
    } catch (error) {
      this.logger.error({ err: error }, 'could not publish session revocations');
      throw upstreamUnavailable('redis');
    }
    await this.sessions.markRevoked(sessionIds);
  }

  private refreshTokenExpiry(): Date {
    return new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000);
  }

  private async tokens(
    user: UserRecord,
    sessionId: string,
    refreshToken: string,
    refreshTokenExpiresAt: Date,
  ): Promise<SessionTokens> {
    const access = await this.accessTokens.issue({ userId: user.id, sessionId, role: user.role });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      user,
    };
  }
}
