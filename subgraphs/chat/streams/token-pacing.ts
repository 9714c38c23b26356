export interface TokenPacingOptions {
  /** The shortest time between two token events of a reply (TOKEN_EVENT_INTERVAL_MS). */
  minIntervalMs: number;
  /**
   * The token events a second this process aims to send across all the replies it streams
   * (TOKEN_EVENTS_PER_SECOND; 0: no such budget, every reply keeps the shortest interval).
   */
  eventsPerSecond: number;
  /** The longest a reply's tokens wait for the next event, however many replies stream (TOKEN_EVENT_MAX_INTERVAL_MS). */
  maxIntervalMs: number;
}

/**
 * How long a reply's tokens gather before they leave as one TOKEN event. While few replies stream,
 * the shortest interval; once the replies streaming at once would send more events a second than
 * the budget, each reply's interval grows so that together they stay within it (up to the longest
 * interval). Every event costs the same however many tokens it carries (an append to Redis, a frame
 * to each subscriber, the gateway's parse and projection), so a burst of replies sends fewer, larger
 * events instead of queueing one per chunk behind each other: the text is the same, only its pieces
 * are coarser. A token that comes after a quiet spell longer than the interval still leaves at once.
 */
export class TokenEventPacing {
  private streaming = 0;

  constructor(private readonly options: TokenPacingOptions) {}

  /** Counts a reply as streaming until the returned function is called (once; later calls do nothing). */
  begin(): () => void {
    this.streaming += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.streaming -= 1;
    };
  }

  /** The replies streaming now. */
  get active(): number {
    return this.streaming;
  }

  /** The interval between a reply's token events now. */
  intervalMs(): number {
    const { minIntervalMs, eventsPerSecond, maxIntervalMs } = this.options;
    if (eventsPerSecond <= 0) return minIntervalMs;
    const shared = Math.ceil((this.streaming * 1000) / eventsPerSecond);
    return Math.max(minIntervalMs, Math.min(shared, maxIntervalMs));
  }
}
