import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Budget } from '../config/load-config';
import { AppError, upstreamUnavailable } from '../errors/errors';

/**
 * How many records of one kind a user may create per window, counted in the service's Redis so
 * the budget holds across its replicas (docs/security.md#per-user-budgets). Over it, RATE_LIMITED
 * with `retryAfter` (seconds). There is no fallback in memory: the subgraph cannot serve without
 * its Redis anyway (identity nonces), so a Redis failure is UPSTREAM_UNAVAILABLE.
 */
export class CreationBudget {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    /** What is counted, in the plural: `conversations`. Names the keys and the error. */
    private readonly records: string,
    budget: Budget,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `creations:${records}`,
      points: budget.points,
      duration: budget.durationSeconds,
      rejectIfRedisNotReady: true,
    });
  }

  /** Counts one creation by `userId`, or refuses it. */
  async spend(userId: string): Promise<void> {
    try {
      await this.limiter.consume(userId);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw upstreamUnavailable('redis');
      const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      throw new AppError('RATE_LIMITED', `Too many new ${this.records}; try again in ${retryAfter} s`, {
        retryAfter,
        limit: `${this.records}Created`,
      });
    }
  }
}
