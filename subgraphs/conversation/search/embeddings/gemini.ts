import { GoogleGenerativeAI, type GenerativeModel, TaskType } from '@google/generative-ai';
import { ConfigError } from '../../../../common/config/load-config';
import type { EmbeddingModel, EmbeddingPurpose } from './embedding-model';

/**
 * The vector size of each Gemini embedding model known here: the dimension follows the model, and
 * a change of either needs `npm run reindex`. (`text-embedding-004` and `embedding-001` are shut
 * down; they stay so that an old index is recognised.)
 */
export const GEMINI_EMBEDDING_DIMENSIONS: Readonly<Record<string, number>> = {
  'gemini-embedding-001': 3072,
  'text-embedding-004': 768,
  'embedding-001': 768,
};

/** The model's dimensions: from the table, or GEMINI_EMBEDDING_DIMENSIONS for a model it lacks. */
export function geminiEmbeddingDimensions(model: string, configured: number | undefined): number {
  const known = GEMINI_EMBEDDING_DIMENSIONS[model];
  if (known !== undefined && configured !== undefined && configured !== known) {
    throw new ConfigError([
      `GEMINI_EMBEDDING_DIMENSIONS: ${model} gives ${known} dimensions, not ${configured}`,
    ]);
  }
  const dimensions = known ?? configured;
  if (dimensions === undefined) {
    throw new ConfigError([`GEMINI_EMBEDDING_DIMENSIONS: required for ${model}, which has no known size`]);
  }
  return dimensions;
}

export interface GeminiEmbeddingOptions {
  apiKey: string;
  /** e.g. `gemini-embedding-001`. */
  model: string;
  dimensions: number;
  /** Another Gemini-compatible endpoint; the public API when absent. */
  baseUrl?: string;
  timeoutMs?: number;
}

/** The API takes at most this many texts in one batchEmbedContents call. */
const MAX_BATCH = 100;
/** The model reads at most 2,048 tokens; longer text is cut here rather than refused there. */
const MAX_TEXT_CHARS = 8_000;

const TASK: Record<EmbeddingPurpose, TaskType> = {
  document: TaskType.RETRIEVAL_DOCUMENT,
  query: TaskType.RETRIEVAL_QUERY,
};

/** Gemini embeddings through `@google/generative-ai` (`:batchEmbedContents`). */
export class GeminiEmbeddingModel implements EmbeddingModel {
  readonly name: string;
  readonly dimensions: number;
  private readonly client: GenerativeModel;

  constructor(options: GeminiEmbeddingOptions) {
    this.name = `gemini-${options.model}`;
    this.dimensions = options.dimensions;
    this.client = new GoogleGenerativeAI(options.apiKey).getGenerativeModel(
      { model: options.model },
      { baseUrl: options.baseUrl, timeout: options.timeoutMs },
    );
  }

  async embed(texts: readonly string[], purpose: EmbeddingPurpose): Promise<(number[] | null)[]> {
    const vectors: (number[] | null)[] = [];
    for (let start = 0; start < texts.length; start += MAX_BATCH) {
      const batch = texts.slice(start, start + MAX_BATCH);
      const { embeddings } = await this.client.batchEmbedContents({
        requests: batch.map((text) => ({
          content: { role: 'user', parts: [{ text: text.slice(0, MAX_TEXT_CHARS) }] },
          taskType: TASK[purpose],
        })),
      });
      if (embeddings?.length !== batch.length) {
        throw new Error(`Gemini returned ${embeddings?.length ?? 0} embeddings for ${batch.length} texts`);
      }
      for (const { values } of embeddings) {
        if (values.length !== this.dimensions) {
          throw new Error(`Gemini returned ${values.length} dimensions, configured for ${this.dimensions}`);
        }
        vectors.push(normalise(values));
      }
    }
    return vectors;
  }
}

function normalise(values: number[]): number[] | null {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? null : values.map((value) => value / norm);
}
