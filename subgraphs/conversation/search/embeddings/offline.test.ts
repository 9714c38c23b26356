import { embedText, sifWeights } from './offline';
import { tokenize } from './tokenize';
import type { WordVectors } from './word-vectors';

describe('tokenize', () => {
  it('lower-cases, splits on anything but letters and digits, and joins contractions', () => {
    expect(tokenize("Don't PANIC: it's 42°C in São Paulo!")).toEqual([
      'dont',
      'panic',
      'its',
      '42',
      'c',
      'in',
      'são',
      'paulo',
    ]);
  });
});

describe('SIF embedding', () => {
  // Rank 0 is the most frequent word; "the" points one way, "cat" and "feline" another.
  const vectors: WordVectors = {
    dimensions: 2,
    words: new Map([
      ['the', 0],
      ['cat', 1000],
      ['feline', 5000],
    ]),
    vectors: new Float32Array(5001 * 2),
  };
  vectors.vectors.set([1, 0], 0);
  vectors.vectors.set([0, 1], 2000);
  vectors.vectors.set([0.1, 1], 10000);
  const weights = sifWeights(5001);

  it('weighs frequent words far less than rare ones', () => {
    expect(weights[0]).toBeLessThan(0.02);
    expect(weights[1000]).toBeGreaterThan(0.9);
    expect(weights[5000]).toBeGreaterThan(weights[1000]);
  });

  it('is L2-normalised and dominated by the meaningful word', () => {
    const vector = embedText('The cat', vectors, weights) as number[];
    expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    expect(vector[1]).toBeGreaterThan(0.99);
  });

  it('gives nothing for text without a known word', () => {
    expect(embedText('zzz qqq', vectors, weights)).toBeNull();
    expect(embedText('', vectors, weights)).toBeNull();
  });
});
