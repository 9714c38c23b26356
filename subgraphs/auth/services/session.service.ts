import type { EntityManager } from '@mikro-orm/postgresql';
import { callerId } from '../../../common/identity/authorization';
import { notFound, unauthenticated, upstreamUnavailable } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import type { Identity } from '../../../common/identity/identity';
import type { Logger } from '../../../common/logging/logger';
import type { SessionRevocationList } from '../../../common/identity/session-revocation';
import { RefreshTokenEntity } from '../store/entities/refresh-token.entity';
import { SessionEntity } from '../store/entities/session.entity';
import { UserEntity } from '../store/entities/user.entity';
import type { AccessTokenIssuer } from './access-token-issuer';
import { hashOpaqueToken, newOpaqueToken } from './opaque-token';

/** What register, login and refreshToken answer. */
export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: UserEntity;
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

type Rotation =
  | { outcome: 'rotated'; sessionId: string; userId: string }
  | { outcome: 'reused'; sessionId: string }
  | { outcome: 'unknown' };

const invalidRefreshToken = () => unauthenticated('Invalid or expired refresh token');

/** Sessions (one per signed-in device), their rotating refresh tokens, and their revocation. */
export class SessionService {
  constructor(
    private readonly em: EntityManager,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly revocations: SessionRevocationList,
    private readonly options: SessionServiceOptions,
    private readonly logger: Logger,
  ) {}

  /** Signs a user in on a new device: a new session, whatever other sessions they have. */
  async open(user: UserEntity, caller: Identity): Promise<SessionTokens> {
    const refreshToken = newOpaqueToken();
    const expiresAt = this.refreshTokenExpiry();
    const session = Object.assign(new SessionEntity(), {
      userId: user.id,
      userAgent: caller.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) ?? null,
      expiresAt,
    });
    await this.em.fork().transactional(async (em) => {
      await em.persistAndFlush(session);
      await em.persistAndFlush(
        Object.assign(new RefreshTokenEntity(), {
          tokenHash: hashOpaqueToken(refreshToken),
          sessionId: session.id,
          expiresAt,
        }),
      );
    });
    return this.tokens(user, session.id, refreshToken, expiresAt);
  }

  /**
   * Exchanges a refresh token for new tokens. A token is good once: presenting it again (a
   * stolen copy, or the slower of two simultaneous refreshes) revokes the whole session.
   */
  async refresh(refreshToken: string): Promise<SessionTokens> {
    const nextToken = newOpaqueToken();
    const expiresAt = this.refreshTokenExpiry();
    const rotation = await this.rotate(hashOpaqueToken(refreshToken), hashOpaqueToken(nextToken), expiresAt);
    if (rotation.outcome === 'reused') {
      await this.revokeSessions([rotation.sessionId]);
      this.logger.warn({ sessionId: rotation.sessionId }, 'refresh token reused: session revoked');
    }
    if (rotation.outcome !== 'rotated') throw invalidRefreshToken();
    const user = await this.em.fork().findOne(UserEntity, { id: rotation.userId });
    if (!user) throw invalidRefreshToken();
    return this.tokens(user, rotation.sessionId, nextToken, expiresAt);
  }

  /**
   * The conditional UPDATE marks the presented token rotated only if nobody has: of two
   * concurrent refreshes, PostgreSQL makes the second wait for the first and then find no row.
   */
  private rotate(presentedHash: string, nextHash: string, expiresAt: Date): Promise<Rotation> {
    return this.em.fork().transactional(async (em): Promise<Rotation> => {
      const [rotated] = await em.execute<{ session_id: string }[]>(
        `update "refresh_tokens" set "rotated_at" = now()
          where "token_hash" = ? and "rotated_at" is null and "expires_at" > now()
          returning "session_id"`,
        [presentedHash],
      );
      if (!rotated) {
        const [known] = await em.execute<{ session_id: string; rotated_at: Date | null }[]>(
          `select "session_id", "rotated_at" from "refresh_tokens" where "token_hash" = ?`,
          [presentedHash],
        );
        return known?.rotated_at
          ? { outcome: 'reused', sessionId: known.session_id }
          : { outcome: 'unknown' };
      }
      const [session] = await em.execute<{ user_id: string }[]>(
        `update "sessions" set "last_used_at" = now(), "expires_at" = ?
          where "id" = ? and "revoked_at" is null
          returning "user_id"`,
        [expiresAt, rotated.session_id],
      );
      if (!session) return { outcome: 'unknown' };
      await em.execute(
        `insert into "refresh_tokens" ("token_hash", "session_id", "expires_at") values (?, ?, ?)`,
        [nextHash, rotated.session_id, expiresAt],
      );
      return { outcome: 'rotated', sessionId: rotated.session_id, userId: session.user_id };
    });
  }

  /** The caller's live sessions, most recently used first, at most MAX_SESSIONS_LISTED. */
  async list(caller: Identity): Promise<SessionSummary[]> {
    const sessions = await this.em.fork().find(SessionEntity, this.liveSessionsOf(callerId(caller)), {
      orderBy: { lastUsedAt: 'desc' },
      limit: MAX_SESSIONS_LISTED,
    });
    return sessions.map(({ id, createdAt, lastUsedAt, userAgent }) => ({
      id,
      createdAt,
      lastUsedAt,
      userAgent,
      current: id === caller.sessionId,
    }));
  }

  /** Ends one of the caller's sessions; anyone else's, or a dead one, is NOT_FOUND. */
  async revoke(caller: Identity, sessionId: string): Promise<void> {
    const session = isUuid(sessionId)
      ? await this.em
          .fork()
          .findOne(SessionEntity, { id: sessionId, ...this.liveSessionsOf(callerId(caller)) })
      : null;
    if (!session) throw notFound('Session');
    await this.revokeSessions([session.id]);
  }

  /** Ends the session the caller's access token belongs to. */
  async logout(caller: Identity): Promise<void> {
    if (!caller.userId || !caller.sessionId) throw unauthenticated();
    await this.revokeSessions([caller.sessionId]);
  }

  /** Ends every session of the caller, the current one included. */
  async logoutAll(caller: Identity): Promise<void> {
    await this.revokeAllOf(callerId(caller));
  }

  /** Ends every session of a user, except `keep` (the device that changed the password). */
  async revokeAllOf(userId: string, keep: string | null = null): Promise<void> {
    const sessions = await this.em
      .fork()
      .find(SessionEntity, this.liveSessionsOf(userId), { fields: ['id'] });
    await this.revokeSessions(sessions.map((session) => session.id).filter((id) => id !== keep));
  }

  /**
   * Writes the revocations whose access tokens may still be live to Redis again, from PostgreSQL.
   * Redis keeps the list in memory: restarted empty, it would let those tokens through again for
   * the rest of their lifetime. Runs whenever the revocation list's connection becomes ready.
   */
  async republishRevocations(): Promise<number> {
    const tokensLive = new Date(Date.now() - this.options.accessTokenTtlSeconds * 1000);
    const revoked = await this.em
      .fork()
      .find(SessionEntity, { revokedAt: { $gte: tokensLive } }, { fields: ['id'] });
    await this.revocations.revoke(
      revoked.map((session) => session.id),
      this.options.accessTokenTtlSeconds,
    );
    return revoked.length;
  }

  /** Deletes sessions nobody can use any more: expired, or revoked longer ago than an access token lives. */
  async deleteDead(): Promise<number> {
    const tokensOutlived = new Date(Date.now() - this.options.accessTokenTtlSeconds * 1000);
    const em = this.em.fork();
    const [sessions] = await Promise.all([
      em.nativeDelete(SessionEntity, {
        $or: [{ expiresAt: { $lt: new Date() } }, { revokedAt: { $lt: tokensOutlived } }],
      }),
      em.nativeDelete(RefreshTokenEntity, { expiresAt: { $lt: new Date() } }),
    ]);
    return sessions;
  }

  /**
   * Redis first, so the gateway refuses the sessions' access tokens at once; then PostgreSQL, so
   * their refresh tokens stop. If Redis fails nothing has changed, and the caller may simply retry.
   */
  private async revokeSessions(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    try {
      await this.revocations.revoke(sessionIds, this.options.accessTokenTtlSeconds);
    } catch (error) {
      this.logger.error({ err: error }, 'could not publish session revocations');
      throw upstreamUnavailable('redis');
    }
    await this.em
      .fork()
      .nativeUpdate(SessionEntity, { id: { $in: sessionIds }, revokedAt: null }, { revokedAt: new Date() });
  }

  private liveSessionsOf(userId: string) {
    return { userId, revokedAt: null, expiresAt: { $gt: new Date() } };
  }

  private refreshTokenExpiry(): Date {
    return new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000);
  }

  private async tokens(
    user: UserEntity,
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
