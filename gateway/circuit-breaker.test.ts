import { CircuitBreaker } from './circuit-breaker';
import { backoffMs, DEFAULT_RETRY_POLICY } from './signed-data-source';

/** A breaker on a clock the test moves. */
function breakerAt(failureThreshold = 3, cooldownMs = 1000) {
  let now = 0;
  const breaker = new CircuitBreaker({ failureThreshold, cooldownMs }, () => now);
  return { breaker, advance: (ms: number) => (now += ms) };
}

const failTimes = (breaker: CircuitBreaker, times: number) => {
  for (let i = 0; i < times; i += 1) {
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failed();
  }
};

describe('a subgraph circuit', () => {
  it('stays closed below the threshold of failures in a row, and a success starts the count again', () => {
    const { breaker } = breakerAt(3);
    failTimes(breaker, 2);
    breaker.succeeded();
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('opens at the threshold and then fails fast: no request goes through until the cooldown has passed', () => {
    const { breaker, advance } = breakerAt(3, 1000);
    failTimes(breaker, 3);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(999);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('admits one probe at a time once half-open', () => {
    const { breaker, advance } = breakerAt(3, 1000);
    failTimes(breaker, 3);
    advance(1000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('opens again for a whole cooldown when the probe fails', () => {
    const { breaker, advance } = breakerAt(3, 1000);
    failTimes(breaker, 3);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failed();
    expect(breaker.state).toBe('open');
    advance(999);
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('closes when the probe succeeds, and then needs the whole threshold to open again', () => {
    const { breaker, advance } = breakerAt(3, 1000);
    failTimes(breaker, 3);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
  });
});

describe('the backoff between retries of a subgraph read', () => {
  const policy = { retries: 5, baseDelayMs: 50, maxDelayMs: 300 };

  it('waits from nothing up to base × 2^attempt (full jitter)', () => {
    expect([0, 1, 2].map((attempt) => backoffMs(policy, attempt, () => 0))).toEqual([0, 0, 0]);
    expect([0, 1, 2].map((attempt) => backoffMs(policy, attempt, () => 0.999999))).toEqual([
      expect.closeTo(50, 3),
      expect.closeTo(100, 3),
      expect.closeTo(200, 3),
    ]);
    expect(backoffMs(policy, 1, () => 0.5)).toBe(50);
  });

  it('never waits longer than maxDelayMs, however many attempts', () => {
    expect(backoffMs(policy, 3, () => 0.999999)).toBeLessThan(300);
    expect(backoffMs(policy, 30, () => 0.999999)).toBeLessThan(300);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 30, () => 0.999999)).toBeLessThan(DEFAULT_RETRY_POLICY.maxDelayMs);
  });
});
