import type { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction } from '../../../common/stores/transaction';
import type { SessionRevocationList } from '../../../common/identity/session-revocation';
import type { RefreshTokenRotation, SessionRecord } from '../records/session.record';
import { RefreshTokenEntity } from '../store/entities/refresh-token.entity';
import { SessionEntity } from '../store/entities/session.entity';

const toRecord = ({ id, createdAt, lastUsedAt, userAgent }: SessionEntity): SessionRecord => ({
  id,
  createdAt,
  lastUsedAt,
  userAgent,
});

const liveSessionsOf = (userId: string) => ({ userId, revokedAt: null, expiresAt: { $gt: new Date() } });

export interface NewSession {
  userId: string;
  userAgent: string | null;
  /** The SHA-256 of its first refresh token. */
  refreshTokenHash: string;
  expiresAt: Date;
}

/**
 * Sessions and their refresh tokens in PostgreSQL, and the revocation list in Redis the gateway
 * reads. Each method is its own unit of work.
 */
export class SessionRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly revocations: SessionRevocationList,
  ) {}

  /** A session with its first refresh token; its id. */
  async open(session: NewSession): Promise<string> {
    const entity = Object.assign(new SessionEntity(), {
      userId: session.userId,
      userAgent: session.userAgent,
      expiresAt: session.expiresAt,
    });
    await inTransaction(this.em, async (em) => {
      await em.insert(entity);
      await em.insert(
        Object.assign(new RefreshTokenEntity(), {
          tokenHash: session.refreshTokenHash,
          sessionId: entity.id,
          expiresAt: session.expiresAt,
        }),
      );
    });
    return entity.id;
  }

  /**
   * Spends the presented refresh token for the next one. The conditional UPDATE marks it rotated
   * only if nobody has: of two concurrent refreshes, PostgreSQL makes the second wait for the first
   * and then find no row.
   */
  rotate(presentedHash: string, nextHash: string, expiresAt: Date): Promise<RefreshTokenRotation> {
    return inTransaction(this.em, async (em): Promise<RefreshTokenRotation> => {
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

  /** A user's live sessions, most recently used first. */
  async listLive(userId: string, limit: number): Promise<SessionRecord[]> {
    const sessions = await this.em
      .fork()
      .find(SessionEntity, liveSessionsOf(userId), { orderBy: { lastUsedAt: 'desc' }, limit });
    return sessions.map(toRecord);
  }

  async findLive(userId: string, sessionId: string): Promise<SessionRecord | null> {
    const session = await this.em.fork().findOne(SessionEntity, { id: sessionId, ...liveSessionsOf(userId) });
    return session ? toRecord(session) : null;
  }

  async liveIdsOf(userId: string): Promise<string[]> {
    const sessions = await this.em.fork().find(SessionEntity, liveSessionsOf(userId), { fields: ['id'] });
    return sessions.map((session) => session.id);
  }

  /** Sessions revoked at or after `since`. */
  async revokedSince(since: Date): Promise<string[]> {
    const sessions = await this.em
      .fork()
      .find(SessionEntity, { revokedAt: { $gte: since } }, { fields: ['id'] });
    return sessions.map((session) => session.id);
  }

  /** Writes the sessions to Redis's revocation list; rejects when Redis does not take the write. */
  publishRevocations(sessionIds: readonly string[], accessTokenTtlSeconds: number): Promise<void> {
    return this.revocations.revoke(sessionIds, accessTokenTtlSeconds);
  }

  async markRevoked(sessionIds: readonly string[]): Promise<void> {
    await this.em
      .fork()
      .nativeUpdate(
        SessionEntity,
        { id: { $in: [...sessionIds] }, revokedAt: null },
        { revokedAt: new Date() },
      );
  }

  /** Deletes expired sessions, those revoked before `revokedBefore`, and expired refresh tokens; how many sessions. */
  async deleteDead(revokedBefore: Date): Promise<number> {
    const em = this.em.fork();
    const [sessions] = await Promise.all([
      em.nativeDelete(SessionEntity, {
        $or: [{ expiresAt: { $lt: new Date() } }, { revokedAt: { $lt: revokedBefore } }],
      }),
      em.nativeDelete(RefreshTokenEntity, { expiresAt: { $lt: new Date() } }),
    ]);
    return sessions;
  }
}
