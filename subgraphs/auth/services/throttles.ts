import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../common/errors';

/**
 * A counter in Redis, shared by every auth replica. While Redis is away an in-memory counter
 * stands in, so an outage neither blocks sign-in nor lifts the limit.
 */
function counter(redis: Redis, keyPrefix: string, points: number, durationSeconds: number) {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points,
    duration: durationSeconds,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }),
  });
}

const isRefusal = (reason: unknown): reason is RateLimiterRes => reason instanceof RateLimiterRes;

export interface LoginThrottleLimits {
  failuresPerEmail: number;
  failuresPerAddress: number;
  windowSeconds: number;
}

/** Limits password guesses per account (email) and per client address. */
export class LoginThrottle {
  private readonly byEmail: RateLimiterRedis;
  private readonly byAddress: RateLimiterRedis;

  constructor(redis: Redis, limits: LoginThrottleLimits) {
    this.byEmail = counter(redis, 'login-email', limits.failuresPerEmail, limits.windowSeconds);
    this.byAddress = counter(redis, 'login-address', limits.failuresPerAddress, limits.windowSeconds);
  }

  /**
   * Counts an attempt against both limits before the password is checked (so parallel guesses
   * cannot slip past), and refuses it with RATE_LIMITED when either is spent. The error does not
   * say which, so it tells an attacker nothing about the account.
   */
  async attempt(email: string, clientAddress: string | undefined): Promise<void> {
    const results = await Promise.allSettled([
      this.byEmail.consume(email),
      ...(clientAddress ? [this.byAddress.consume(clientAddress)] : []),
    ]);
    const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    const failure = refusals.find((reason) => !isRefusal(reason));
    if (failure) throw failure;
    if (refusals.length > 0) {
      const waitMs = Math.max(...refusals.map((refusal: RateLimiterRes) => refusal.msBeforeNext));
      throw new AppError('RATE_LIMITED', 'Too many sign-in attempts; try again later', {
        retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
  }

  /** The right password: the account's failures start over, and this attempt does not count for the address. */
  async succeeded(email: string, clientAddress: string | undefined): Promise<void> {
    await Promise.all([
      this.byEmail.delete(email),
      ...(clientAddress ? [this.byAddress.reward(clientAddress)] : []),
    ]);
  }
}

/** Caps password reset mails per account, so the endpoint cannot be used to flood an inbox. */
export class ResetMailThrottle {
  private readonly perEmail: RateLimiterRedis;

  constructor(redis: Redis, mailsPerHour: number) {
    this.perEmail = counter(redis, 'reset-mail', mailsPerHour, 3600);
  }

  async allow(email: string): Promise<boolean> {
    try {
      await this.perEmail.consume(email);
      return true;
    } catch (reason) {
      if (isRefusal(reason)) return false;
      throw reason;
    }
  }
}
