import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ThrottleCount } from '../records/throttle.record';

const countOf = (result: RateLimiterRes, refused: boolean): ThrottleCount => ({
  consumedPoints: result.consumedPoints,
  msBeforeNext: result.msBeforeNext,
  refused,
});

/** One family of counters (one key prefix, one limit, one window). */
export class ThrottleCounter {
  constructor(private readonly limiter: RateLimiterRedis) {}

  /** Counts a point; `refused` when the limit was spent already. */
  async consume(key: string): Promise<ThrottleCount> {
    try {
      return countOf(await this.limiter.consume(key), false);
    } catch (reason) {
      if (reason instanceof RateLimiterRes) return countOf(reason, true);
      throw reason;
    }
  }

  /** Counts a point that is never refused. */
  async penalty(key: string): Promise<ThrottleCount> {
    return countOf(await this.limiter.penalty(key), false);
  }

  /** Takes a point back. */
  async reward(key: string): Promise<void> {
    await this.limiter.reward(key);
  }

  async delete(key: string): Promise<void> {
    await this.limiter.delete(key);
  }

  /** The key's count, or null when it has none in this window. */
  async get(key: string): Promise<ThrottleCount | null> {
    const result = await this.limiter.get(key);
    return result ? countOf(result, false) : null;
  }
}

/** Throttle counters in Redis, shared by every auth replica. */
export class ThrottleRepository {
  constructor(private readonly redis: Redis) {}

  /**
   * While Redis is away (or refuses writes because it is full) an in-memory counter stands in, so
   * an outage neither blocks sign-in nor lifts the limit.
   */
  counter(keyPrefix: string, points: number, durationSeconds: number): ThrottleCounter {
    return new ThrottleCounter(
      new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix,
        points,
        duration: durationSeconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }),
      }),
    );
  }
}
