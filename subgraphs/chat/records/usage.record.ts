export interface UsageCounts {
  promptTokens: number;
  completionTokens: number;
  generations: number;
}

export interface DailyUsage extends UsageCounts {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
}

export interface QuotaLimits {
  concurrentGenerations: number;
  dailyTokens: number;
}

/** A user's token usage and limits, as `User.usage` shows them. */
export interface UsageReport {
  totals: UsageCounts;
  daily: DailyUsage[];
  today: DailyUsage;
  activeGenerations: number;
  limits: QuotaLimits;
  dailyTokensRemaining: number;
  /** When today's token count starts again from zero (the next midnight UTC). */
  resetsAt: Date;
}
