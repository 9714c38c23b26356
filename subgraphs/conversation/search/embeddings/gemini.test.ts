import { ConfigError } from '../../../../common/config/load-config';
import { geminiEmbeddingDimensions } from './gemini';

/** The problems a ConfigError reports, or null when nothing was thrown. */
function problemsOf(work: () => unknown): string[] | null {
  try {
    work();
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('the dimensions of a Gemini embedding model', () => {
  it('are the known size of a model in the table, with GEMINI_EMBEDDING_DIMENSIONS unset', () => {
    expect(geminiEmbeddingDimensions('gemini-embedding-001', undefined)).toBe(3072);
    expect(geminiEmbeddingDimensions('text-embedding-004', undefined)).toBe(768);
  });

  it('accept GEMINI_EMBEDDING_DIMENSIONS when it agrees with the table', () => {
    expect(geminiEmbeddingDimensions('gemini-embedding-001', 3072)).toBe(3072);
  });

  it('refuse GEMINI_EMBEDDING_DIMENSIONS contradicting the table, naming the variable and both sizes', () => {
    expect(problemsOf(() => geminiEmbeddingDimensions('gemini-embedding-001', 768))).toEqual([
      'GEMINI_EMBEDDING_DIMENSIONS: gemini-embedding-001 gives 3072 dimensions, not 768',
    ]);
  });

  it('are GEMINI_EMBEDDING_DIMENSIONS for a model the table lacks, and refused without it', () => {
    expect(geminiEmbeddingDimensions('gemini-embedding-002', 1536)).toBe(1536);
    expect(problemsOf(() => geminiEmbeddingDimensions('gemini-embedding-002', undefined))).toEqual([
      'GEMINI_EMBEDDING_DIMENSIONS: required for gemini-embedding-002, which has no known size',
    ]);
  });
});
