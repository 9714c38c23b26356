import type { Logger } from '../../../common/logging/logger';
import type { ConversationConfig } from '../config';
import { SearchIndexer } from '../jobs/search-indexer';
import type { Repositories } from '../repositories';
import { collectionName, VectorIndexRepository } from '../repositories/vector-index.repository';
import { createChromaConnection } from '../store/chroma-client';
import { createEmbeddingModel } from './embeddings';

/**
 * The search side of the service: embedding model, Chroma collection, outbox indexer (not started).
 * `openRepositories` gives the indexer a unit of work of its own for each round.
 */
export function createSearch(
  config: ConversationConfig,
  openRepositories: () => Repositories,
  logger: Logger,
) {
  const chroma = createChromaConnection(config.CHROMA_URL, config.SEARCH_TIMEOUT_MS);
  const embedding = createEmbeddingModel(config, logger);
  const index = new VectorIndexRepository(
    chroma,
    collectionName(config.CHROMA_COLLECTION_PREFIX, embedding),
    config.SEARCH_TIMEOUT_MS,
  );
  const indexer = new SearchIndexer(openRepositories, embedding, index, {
    batchSize: config.SEARCH_INDEXER_BATCH_SIZE,
    pollMs: config.SEARCH_INDEXER_POLL_MS,
    wakeDelayMs: config.SEARCH_INDEXER_WAKE_DELAY_MS,
    maxBackoffMs: config.SEARCH_INDEXER_MAX_BACKOFF_MS,
    logger: logger.child({ component: 'search-indexer' }),
  });
  return { chroma, embedding, index, indexer };
}

export type Search = ReturnType<typeof createSearch>;
