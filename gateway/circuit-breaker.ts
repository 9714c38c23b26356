/** `closed`: requests go through; `open`: they fail at once; `half-open`: one probe goes through. */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses before it lets one probe through. */
  cooldownMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = { failureThreshold: 5, cooldownMs: 10_000 };

/** Numbers for the Prometheus gauge: the state as a value a dashboard can threshold. */
export const CIRCUIT_STATE_VALUES: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * One subgraph's circuit: after `failureThreshold` failures in a row its requests fail at once
 * (no connection, no timeout) for `cooldownMs`; then a single request probes it, which closes the
 * circuit when it succeeds and opens it for another cooldown when it fails.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(
    private readonly options: CircuitBreakerOptions = DEFAULT_CIRCUIT_BREAKER,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.cooldownMs ? 'half-open' : 'open';
  }

  /** Whether a request may go now; a half-open circuit admits one probe at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  succeeded(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  failed(): void {
    this.consecutiveFailures += 1;
    if (this.probing || this.consecutiveFailures >= this.options.failureThreshold) this.openedAt = this.now();
    this.probing = false;
  }
}
