import type { Logger } from '../../../../common/logging/logger';
import type { EmbeddingModel } from './embedding-model';
import { tokenize } from './tokenize';
import { loadWordVectors, type WordVectors } from './word-vectors';

/**
 * The SIF weight's smoothing constant: a word of probability p counts a / (a + p), so words
 * far more frequent than `a` (the, of, is) barely count and rare, meaningful ones count fully.
 */
const SIF_SMOOTHING = 1e-3;
const EULER_MASCHERONI = 0.5772156649;

/**
 * An embedding that needs no network: the SIF-weighted average of pretrained word vectors
 * (Arora et al., "A Simple but Tough-to-Beat Baseline for Sentence Embeddings", 2017),
 * L2-normalised. The vocabulary is ordered by frequency, so a word's probability is estimated
 * from its rank with Zipf's law: p(rank) = 1 / (rank · H(V)).
 */
export class OfflineEmbeddingModel implements EmbeddingModel {
  readonly name = 'wink-sg-100d-sif';
  readonly dimensions = 100;
  private loading: Promise<{ vectors: WordVectors; weights: Float32Array }> | undefined;

  constructor(
    private readonly cacheDir: string,
    private readonly logger: Logger,
  ) {}

  async embed(texts: readonly string[]): Promise<(number[] | null)[]> {
    const { vectors, weights } = await this.load();
    return texts.map((text) => embedText(text, vectors, weights));
  }

  /** Loads the vectors once, on first use; concurrent callers share the one load. */
  private load() {
    this.loading ??= loadWordVectors(this.cacheDir, this.logger).then((vectors) => {
      if (vectors.dimensions !== this.dimensions) {
        throw new Error(`expected ${this.dimensions}-dimensional word vectors, got ${vectors.dimensions}`);
      }
      return { vectors, weights: sifWeights(vectors.words.size) };
    });
    this.loading.catch(() => (this.loading = undefined));
    return this.loading;
  }
}

/** The SIF weight of each vocabulary row, row 0 being the most frequent word. */
export function sifWeights(vocabularySize: number): Float32Array {
  const harmonic = Math.log(vocabularySize) + EULER_MASCHERONI;
  const weights = new Float32Array(vocabularySize);
  for (let row = 0; row < vocabularySize; row++) {
    const probability = 1 / ((row + 1) * harmonic);
    weights[row] = SIF_SMOOTHING / (SIF_SMOOTHING + probability);
  }
  return weights;
}

export function embedText(text: string, { dimensions, words, vectors }: WordVectors, weights: Float32Array) {
  const sum = new Float64Array(dimensions);
  let known = 0;
  for (const token of tokenize(text)) {
    const row = words.get(token);
    if (row === undefined) continue;
    known++;
    const weight = weights[row];
    const offset = row * dimensions;
    for (let i = 0; i < dimensions; i++) sum[i] += weight * vectors[offset + i];
  }
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += sum[i] * sum[i];
  if (known === 0 || norm === 0) return null;
  norm = Math.sqrt(norm);
  return Array.from(sum, (value) => value / norm);
}
