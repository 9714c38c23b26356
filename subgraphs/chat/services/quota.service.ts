import { AppError } from '../../../common/errors/errors';
import type { TokenUsage } from '../records/generation.record';
import type { ConcurrencyRepository } from '../repositories/concurrency.repository';
import type { QuotaLimits, UsageReport } from '../records/usage.record';
import { type UsageRepository, utcDay } from '../repositories/usage.repository';

const nextUtcMidnight = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

/**
 * Per-user limits: concurrent generations and tokens per UTC day. A generation is admitted if
 * the user has used fewer tokens than the daily limit so far; its own tokens are counted when it
 * ends, so the last one of a day may go past the limit by at most one reply.
 */
export class QuotaService {
  constructor(
    private readonly limiter: ConcurrencyRepository,
    private readonly ledger: UsageRepository,
    private readonly limits: QuotaLimits,
  ) {}

  /**
   * Reserves a concurrency slot for the generation, or throws QUOTA_EXCEEDED saying which limit.
   * The day's tokens are read and the slot taken side by side (their commands go to Redis in one
   * write); a slot taken for a send the day's tokens refuse, or when the read fails, is given back,
   * and the day's limit is the answer before the concurrent one, as when they ran in turn.
   */
  async admit(userId: string, generationId: string, now = new Date()): Promise<void> {
    const [used, acquired] = await Promise.allSettled([
      this.ledger.tokensToday(userId, now),
      this.limiter.acquire(userId, generationId, this.limits.concurrentGenerations),
    ]);
    const refused = used.status === 'rejected' || used.value >= this.limits.dailyTokens;
    if (refused && acquired.status === 'fulfilled' && acquired.value) {
      // Its lease would end it anyway: a release that fails is not the answer.
      await this.limiter.release(userId, generationId).catch(() => undefined);
    }
    if (used.status === 'rejected') throw used.reason;
    if (used.value >= this.limits.dailyTokens) {
      const resetsAt = nextUtcMidnight(now);
      throw new AppError(
        'QUOTA_EXCEEDED',
        `You have used your ${this.limits.dailyTokens.toLocaleString('en')} tokens for today; the limit resets at ${resetsAt.toISOString()}`,
        { quota: 'DAILY_TOKENS', limit: this.limits.dailyTokens, resetsAt: resetsAt.toISOString() },
      );
    }
    if (acquired.status === 'rejected') throw acquired.reason;
    if (!acquired.value) {
      throw new AppError(
        'QUOTA_EXCEEDED',
        `You already have ${this.limits.concurrentGenerations} replies being generated; wait for one to finish or stop it`,
        { quota: 'CONCURRENT_GENERATIONS', limit: this.limits.concurrentGenerations },
      );
    }
  }

  renew(userId: string, generationId: string): Promise<void> {
    return this.limiter.renew(userId, generationId);
  }

  release(userId: string, generationId: string): Promise<void> {
    return this.limiter.release(userId, generationId);
  }

  record(userId: string, usage: TokenUsage): Promise<void> {
    return this.ledger.record(userId, usage);
  }

  async report(userId: string, days: number, now = new Date()): Promise<UsageReport> {
    const [totals, daily, activeGenerations] = await Promise.all([
      this.ledger.totals(userId),
      this.ledger.daily(userId, days, now),
      this.limiter.active(userId),
    ]);
    const today = daily[daily.length - 1] ?? {
      date: utcDay(now),
      promptTokens: 0,
      completionTokens: 0,
      generations: 0,
    };
    return {
      totals,
      daily,
      today,
      activeGenerations,
      limits: this.limits,
      dailyTokensRemaining: Math.max(
        0,
        this.limits.dailyTokens - today.promptTokens - today.completionTokens,
      ),
      resetsAt: nextUtcMidnight(now),
    };
  }
}
