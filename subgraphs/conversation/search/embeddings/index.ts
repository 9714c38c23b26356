import type { Logger } from '../../../../common/logging/logger';
import type { ConversationConfig } from '../../config';
import type { EmbeddingModel } from './embedding-model';
import { GeminiEmbeddingModel, geminiEmbeddingDimensions } from './gemini';
import { OfflineEmbeddingModel } from './offline';

/** Gemini when a key is configured, else the offline word-vector model. */
export function createEmbeddingModel(config: ConversationConfig, logger: Logger): EmbeddingModel {
  if (config.GEMINI_API_KEY) {
    return new GeminiEmbeddingModel({
      apiKey: config.GEMINI_API_KEY,
      model: config.GEMINI_EMBEDDING_MODEL,
      dimensions: geminiEmbeddingDimensions(
        config.GEMINI_EMBEDDING_MODEL,
        config.GEMINI_EMBEDDING_DIMENSIONS,
      ),
      baseUrl: config.GEMINI_BASE_URL,
      timeoutMs: config.SEARCH_TIMEOUT_MS,
    });
  }
  return new OfflineEmbeddingModel(config.EMBEDDINGS_CACHE_DIR, logger);
}
