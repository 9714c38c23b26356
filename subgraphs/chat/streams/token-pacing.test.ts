import { TokenEventPacing } from './token-pacing';

describe('TokenEventPacing', () => {
  const pacing = (eventsPerSecond = 1_000) =>
    new TokenEventPacing({ minIntervalMs: 20, eventsPerSecond, maxIntervalMs: 200 });

  it('keeps the shortest interval while the streaming replies stay within the budget', () => {
    const paced = pacing();
    expect(paced.intervalMs()).toBe(20);
    const ends = Array.from({ length: 20 }, () => paced.begin());
    expect(paced.active).toBe(20);
    expect(paced.intervalMs()).toBe(20);
    ends.forEach((end) => end());
  });

  it('lengthens every reply’s interval so that the replies together stay within the budget', () => {
    const paced = pacing();
    const ends = Array.from({ length: 100 }, () => paced.begin());
    // 100 replies, one event each every 100 ms: 1,000 events a second.
    expect(paced.intervalMs()).toBe(100);
    paced.begin();
    expect(paced.intervalMs()).toBe(101);
    ends.forEach((end) => end());
  });

  it('never makes tokens wait longer than the longest interval', () => {
    const paced = pacing();
    Array.from({ length: 1_000 }, () => paced.begin());
    expect(paced.intervalMs()).toBe(200);
  });

  it('goes back to the shortest interval as replies end, each counted once', () => {
    const paced = pacing();
    const ends = Array.from({ length: 100 }, () => paced.begin());
    ends[0]();
    ends[0]();
    expect(paced.active).toBe(99);
    ends.slice(1).forEach((end) => end());
    expect(paced.active).toBe(0);
    expect(paced.intervalMs()).toBe(20);
  });

  it('keeps the shortest interval whatever the load when there is no budget', () => {
    const paced = pacing(0);
    Array.from({ length: 1_000 }, () => paced.begin());
    expect(paced.intervalMs()).toBe(20);
  });

  it('never goes below the shortest interval, even when the longest is set lower', () => {
    const paced = new TokenEventPacing({ minIntervalMs: 50, eventsPerSecond: 1_000, maxIntervalMs: 10 });
    Array.from({ length: 1_000 }, () => paced.begin());
    expect(paced.intervalMs()).toBe(50);
  });
});
