import { jsonLongerThan } from './operation-limits';

describe('jsonLongerThan', () => {
  const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
  /** What the walk may count over the encoding: a byte per container for its separators. */
  const SLACK = 8;

  it('answers as the encoding’s length would, within a few bytes, for values of every kind', () => {
    const values = [
      { data: { generation: { seq: 12, type: 'TOKEN', delta: 'Hello, world' } } },
      { data: { list: [1, 2, 3, null, true, false, 'x'], nested: { deeper: { deepest: [] } } } },
      'a plain string',
      42,
      null,
    ];
    for (const value of values) {
      const size = sizeOf(value);
      expect(jsonLongerThan(value, size + SLACK)).toBe(false);
      // Never less than the encoding, for text with nothing to escape.
      expect(jsonLongerThan(value, size - 1)).toBe(true);
    }
  });

  it('counts text in UTF-8 bytes, not characters', () => {
    // 1,000 characters of three bytes each.
    const euros = { delta: '€'.repeat(1_000) };
    expect(jsonLongerThan(euros, 2_999)).toBe(true);
    expect(jsonLongerThan(euros, 3_000 + SLACK + 10)).toBe(false);
    // 1,000 characters of four bytes each, two UTF-16 units apiece: 4,000 bytes, under the three bytes
    // a unit that a first look allows (6,000), so the answer is the measured one.
    const emoji = { delta: '😀'.repeat(1_000) };
    expect(jsonLongerThan(emoji, 4_000 + SLACK + 10)).toBe(false);
    expect(jsonLongerThan(emoji, 3_999)).toBe(true);
  });

  it('leaves out what JSON leaves out (undefined properties)', () => {
    const withUndefined = { a: 'x'.repeat(100), b: undefined };
    expect(jsonLongerThan(withUndefined, sizeOf({ a: 'x'.repeat(100) }) + SLACK)).toBe(false);
  });

  it('says a value far above the bound is longer, however large', () => {
    const huge = Array.from({ length: 100_000 }, (_, i) => ({ i, text: 'some text' }));
    expect(jsonLongerThan(huge, 1_000)).toBe(true);
    expect(jsonLongerThan(huge, sizeOf(huge) + SLACK * 100_000)).toBe(false);
  });
});
