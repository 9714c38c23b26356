import { retryDelay } from './search-indexer';

describe('retryDelay', () => {
  it('doubles with each attempt, with jitter in the upper half, up to the maximum', () => {
    expect(retryDelay(1, 60_000, () => 0)).toBe(250);
    expect(retryDelay(1, 60_000, () => 1)).toBe(500);
    expect(retryDelay(3, 60_000, () => 1)).toBe(2000);
    expect(retryDelay(40, 30_000, () => 1)).toBe(30_000);
    expect(retryDelay(40, 30_000, () => 0)).toBe(15_000);
  });
});
