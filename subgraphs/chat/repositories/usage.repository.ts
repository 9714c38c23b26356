import type { Redis } from 'ioredis';
import { redisKeys } from '../store/redis-keys';
import type { DailyUsage, UsageCounts } from '../records/usage.record';
import { throwFirstError } from '../store/redis-results';

/** How many days of per-day usage are kept (and can be asked for). */
export const USAGE_HISTORY_DAYS = 90;
const DAY_MS = 86_400_000;

/** Quotas reset at midnight UTC, so days are UTC days. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

const countsOf = (hash: Record<string, string>): UsageCounts => ({
  promptTokens: Number(hash.promptTokens ?? 0),
  completionTokens: Number(hash.completionTokens ?? 0),
  generations: Number(hash.generations ?? 0),
});

/** Token usage per user: running totals and a hash per UTC day. */
export class UsageRepository {
  constructor(private readonly redis: Redis) {}

  async record(userId: string, usage: Omit<UsageCounts, 'generations'>, at = new Date()): Promise<void> {
    const daily = redisKeys.userDaily(userId, utcDay(at));
    const totals = redisKeys.userTotals(userId);
    await this.redis
      .multi()
      .hincrby(daily, 'promptTokens', usage.promptTokens)
      .hincrby(daily, 'completionTokens', usage.completionTokens)
      .hincrby(daily, 'generations', 1)
      .expire(daily, (USAGE_HISTORY_DAYS + 1) * 86_400)
      .hincrby(totals, 'promptTokens', usage.promptTokens)
      .hincrby(totals, 'completionTokens', usage.completionTokens)
      .hincrby(totals, 'generations', 1)
      .exec()
      .then(throwFirstError);
  }

  async totals(userId: string): Promise<UsageCounts> {
    return countsOf(await this.redis.hgetall(redisKeys.userTotals(userId)));
  }

  /** The last `days` UTC days up to `today`, oldest first, days without use included as zeros. */
  async daily(userId: string, days: number, today = new Date()): Promise<DailyUsage[]> {
    const dates = Array.from({ length: days }, (_, i) =>
      utcDay(new Date(today.getTime() - (days - 1 - i) * DAY_MS)),
    );
    const pipeline = this.redis.pipeline();
    for (const date of dates) pipeline.hgetall(redisKeys.userDaily(userId, date));
    const results = (await pipeline.exec()) ?? [];
    throwFirstError(results);
    return dates.map((date, i) => ({ date, ...countsOf((results[i][1] ?? {}) as Record<string, string>) }));
  }

  async tokensToday(userId: string, today = new Date()): Promise<number> {
    const [prompt, completion] = await this.redis.hmget(
      redisKeys.userDaily(userId, utcDay(today)),
      'promptTokens',
      'completionTokens',
    );
    return Number(prompt ?? 0) + Number(completion ?? 0);
  }
}
