import type { ClientContext, Redis, Result } from 'ioredis';
import { redisKeys } from '../store/redis-keys';

/**
 * Admits a generation if the user has fewer than `limit` with a live lease. Leases that ran out
 * (their process died) are dropped first, so a crash never leaves a user locked out.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

const RENEW = `
redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    acquireGenerationSlot(
      key: string,
      now: number,
      leaseUntil: number,
      limit: number,
      generationId: string,
      leaseMs: number,
    ): Result<number, Context>;
    renewGenerationSlot(
      key: string,
      leaseUntil: number,
      generationId: string,
      leaseMs: number,
    ): Result<number, Context>;
  }
}

/** Per-user concurrent generations: a sorted set of generation ids scored by lease expiry. */
export class ConcurrencyRepository {
  constructor(
    private readonly redis: Redis,
    private readonly leaseMs: number,
  ) {
    redis.defineCommand('acquireGenerationSlot', { numberOfKeys: 1, lua: ACQUIRE });
    redis.defineCommand('renewGenerationSlot', { numberOfKeys: 1, lua: RENEW });
  }

  async acquire(userId: string, generationId: string, limit: number): Promise<boolean> {
    const now = Date.now();
    const admitted = await this.redis.acquireGenerationSlot(
      redisKeys.userActive(userId),
      now,
      now + this.leaseMs,
      limit,
      generationId,
      this.leaseMs,
    );
    return admitted === 1;
  }

  async renew(userId: string, generationId: string): Promise<void> {
    await this.redis.renewGenerationSlot(
      redisKeys.userActive(userId),
      Date.now() + this.leaseMs,
      generationId,
      this.leaseMs,
    );
  }

  async release(userId: string, generationId: string): Promise<void> {
    await this.redis.zrem(redisKeys.userActive(userId), generationId);
  }

  async active(userId: string): Promise<number> {
    return this.redis.zcount(redisKeys.userActive(userId), Date.now(), '+inf');
  }
}
