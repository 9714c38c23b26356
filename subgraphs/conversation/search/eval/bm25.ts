import { tokenize } from '../embeddings/tokenize';

/** The usual Okapi BM25 constants: term-frequency saturation and length normalisation. */
const K1 = 1.2;
const B = 0.75;

/**
 * Okapi BM25 over whole words (no stemming, no synonyms): the plain keyword search that the
 * semantic search is measured against.
 */
export class Bm25Index {
  private readonly documents: { id: string; terms: Map<string, number>; length: number }[];
  private readonly documentFrequency = new Map<string, number>();
  private readonly averageLength: number;

  constructor(documents: readonly { id: string; text: string }[]) {
    this.documents = documents.map(({ id, text }) => {
      const terms = new Map<string, number>();
      const tokens = tokenize(text);
      for (const token of tokens) terms.set(token, (terms.get(token) ?? 0) + 1);
      for (const term of terms.keys())
        this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      return { id, terms, length: tokens.length };
    });
    this.averageLength =
      this.documents.reduce((sum, doc) => sum + doc.length, 0) / Math.max(1, this.documents.length);
  }

  /** Document ids by descending score; documents sharing no term with the query are left out. */
  search(query: string, limit: number): string[] {
    const terms = [...new Set(tokenize(query))];
    const count = this.documents.length;
    return this.documents
      .map((doc) => {
        let score = 0;
        for (const term of terms) {
          const frequency = doc.terms.get(term);
          if (!frequency) continue;
          const df = this.documentFrequency.get(term) ?? 0;
          const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5));
          score +=
            (idf * frequency * (K1 + 1)) / (frequency + K1 * (1 - B + (B * doc.length) / this.averageLength));
        }
        return { id: doc.id, score };
      })
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map((hit) => hit.id);
  }
}
