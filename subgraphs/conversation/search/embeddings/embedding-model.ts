/** What a text is embedded for; some models embed questions and passages differently. */
export type EmbeddingPurpose = 'document' | 'query';

/** Turns texts into vectors for the search index. */
export interface EmbeddingModel {
  /** Names the model and its version; with `dimensions` it names the Chroma collection. */
  readonly name: string;
  readonly dimensions: number;
  /**
   * One L2-normalised vector per text, in order; null for a text that carries nothing the model
   * knows (no known word), which is neither indexed nor searchable.
   */
  embed(texts: readonly string[], purpose: EmbeddingPurpose): Promise<(number[] | null)[]>;
}
