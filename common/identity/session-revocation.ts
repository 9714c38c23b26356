import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Revoked sessions, shared by auth (which writes) and the gateway (which reads on every
 * authenticated request). One Redis key per session id, `<SESSION_REVOCATION_PREFIX><sid>`,
 * value `1`, living as long as an access token of that session can. Documented in
 * docs/protocol.md#session-revocation.
 */
export const sessionRevocationEnv = {
  SESSION_REVOCATION_PREFIX: z.string().min(1).default('revoked-session:'),
};

/** Covers clock differences between auth and the gateway, so a token never outlives its entry. */
export const REVOCATION_TTL_MARGIN_SECONDS = 60;

export class SessionRevocationList {
  /** @param redis a client whose `keyPrefix` is SESSION_REVOCATION_PREFIX (see createRedis). */
  constructor(private readonly redis: Redis) {}

  /** Rejects when Redis does not take the write; the caller must not report success then. */
  async revoke(sessionIds: readonly string[], accessTokenTtlSeconds: number): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttl = accessTokenTtlSeconds + REVOCATION_TTL_MARGIN_SECONDS;
    const pipeline = this.redis.multi();
    for (const id of sessionIds) pipeline.set(id, '1', 'EX', ttl);
    const results = await pipeline.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (!results || failure) throw failure ?? new Error('redis transaction discarded');
  }

  /** Rejects when Redis cannot answer; the gateway then refuses the request (never fails open). */
  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(sessionId)) === 1;
  }

  /** Which of these sessions are revoked, in one round trip (for watching long-lived streams). */
  async revokedAmong(sessionIds: readonly string[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const values = await this.redis.mget(...sessionIds);
    return new Set(sessionIds.filter((_id, index) => values[index] !== null));
  }
}
