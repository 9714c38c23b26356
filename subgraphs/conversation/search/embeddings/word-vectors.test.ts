import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWordVectors, encodeWordVectors, readWinkVectors } from './word-vectors';

/** The package's layout, in small: a header, a word list, then each word's vector, norm and rank. */
const WINK_JSON = JSON.stringify({
  precision: 8,
  l2NormIndex: 3,
  wordIndex: 4,
  size: 4,
  dimensions: 3,
  words: ['the', '"', 'a,b]', 'naïve'],
  vectors: {
    the: [0.1, 0.2, 0.3, 0.37, 0],
    '"': [1, 0, 0, 1, 1],
    'a,b]': [0, -1.5, 0, 1.5, 2],
    naïve: [0.25, 0.5, 1, 1.14, 3],
  },
  unkVector: [0, 0, 0, 0, -1],
});

describe('word vectors', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'word-vectors-'));
    await writeFile(join(dir, 'vectors.json'), WINK_JSON);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([3, 7, 64, 1 << 20])('reads the JSON a stream of %i-byte chunks at a time', async (chunkBytes) => {
    const vectors = await readWinkVectors(join(dir, 'vectors.json'), chunkBytes);
    expect(vectors.dimensions).toBe(3);
    expect([...vectors.words]).toEqual([
      ['the', 0],
      ['"', 1],
      ['a,b]', 2],
      ['naïve', 3],
    ]);
    expect(Array.from(vectors.vectors)).toEqual(
      [0.1, 0.2, 0.3, 1, 0, 0, 0, -1.5, 0, 0.25, 0.5, 1].map(Math.fround),
    );
  });

  it('round-trips through the binary cache format', async () => {
    const vectors = await readWinkVectors(join(dir, 'vectors.json'));
    expect(decodeWordVectors(encodeWordVectors(vectors))).toEqual(vectors);
  });

  it('rejects a truncated or foreign cache file', async () => {
    const encoded = encodeWordVectors(await readWinkVectors(join(dir, 'vectors.json')));
    expect(decodeWordVectors(encoded.subarray(0, encoded.length - 1))).toBeNull();
    expect(decodeWordVectors(Buffer.from('{"not":"ours"}'))).toBeNull();
  });
});
