import { productionTimes } from './paced-model';
import { type Arrival, summarize } from './streams';

const event = (seq: number, type: string, at: number, delta: string | null = null): Arrival => {
  const times = delta === null ? [] : productionTimes(delta);
  return { seq, type, at, delta, ...(times.length > 0 ? { producedAt: times } : {}) };
};

describe('a stream benchmark’s count of tokens', () => {
  it('reads the time of every token a delta holds', () => {
    expect(productionTimes('12.5 ')).toEqual([12.5]);
    expect(productionTimes('12.5 13.25 14 ')).toEqual([12.5, 13.25, 14]);
    expect(productionTimes('Hello')).toEqual([]);
  });

  it('counts the tokens chat joined into one late event as delivered, each with its latency', () => {
    const followed = {
      ended: 'complete' as const,
      events: [
        event(1, 'START', 0),
        event(2, 'TOKEN', 20, '10 '),
        // Two tokens that waited for the same append came as one event.
        event(3, 'TOKEN', 100, '30 60 '),
        event(4, 'DONE', 110),
      ],
    };
    const summary = summarize({ followed: [followed], pairs: [] }, 3);
    expect(summary).toMatchObject({ expectedTokens: 3, deliveredTokens: 3, outOfOrder: 0, failedStreams: 0 });
    expect(summary.latencyMs).toEqual([10, 40, 70]);
  });

  it('counts a token that never came as missing', () => {
    const followed = {
      ended: 'complete' as const,
      events: [event(1, 'START', 0), event(2, 'TOKEN', 20, '10 '), event(3, 'DONE', 30)],
    };
    expect(summarize({ followed: [followed], pairs: [] }, 2)).toMatchObject({ deliveredTokens: 1 });
  });
});
