import 'reflect-metadata';
import { createDatabase, migrate } from '../../../common/stores/database';
import { createLogger } from '../../../common/logging/logger';
import { loadConversationConfig } from '../config';
import { openRepositories } from '../repositories';
import { createSearch } from '../search/create-search';
import { conversationDatabase } from '../store/database';

/** Gives up when the outbox stops shrinking for this long (Chroma or the embedding model down). */
const STALL_LIMIT_MS = 60_000;

/**
 * `npm run reindex`: rebuilds the current embedding model's Chroma collection from PostgreSQL.
 * A collection holding vectors of another size (an earlier model's: the dimension follows the
 * model) is reported and dropped, as search can never use it again. It drops the collection,
 * queues every message in the search outbox and applies the outbox until it is empty. A running service's indexer may take part (only one works at a time), and
 * writes made meanwhile queue behind the rebuild, so nothing is lost or indexed out of order.
 */
async function main(): Promise<void> {
  const config = loadConversationConfig();
  const logger = createLogger({ service: 'reindex', level: config.LOG_LEVEL });
  const database = conversationDatabase(config, logger);
  await migrate(database);
  const orm = await createDatabase(database);
  try {
    const { index, indexer, embedding } = createSearch(config, () => openRepositories(orm), logger);
    const { outbox } = openRepositories(orm);
    for (const stored of await index.messageCollections(config.CHROMA_COLLECTION_PREFIX)) {
      if (stored.dimensions === null || stored.dimensions === embedding.dimensions) continue;
      logger.warn(
        {
          collection: stored.name,
          dimensions: stored.dimensions,
          model: embedding.name,
          modelDimensions: embedding.dimensions,
        },
        `the index holds ${stored.dimensions}-dimension vectors but ${embedding.name} gives ${embedding.dimensions}: a change of dimension needs a reindex; dropping it and rebuilding`,
      );
      await index.drop(stored.name);
    }
    await index.drop();
    const queued = await outbox.enqueueAllMessages();
    logger.info({ collection: index.name, messages: queued }, 'collection dropped, every message queued');

    let pending = await outbox.pendingCount();
    let progressAt = Date.now();
    while (pending > 0) {
      if ((await indexer.runOnce()) === 0)
        await new Promise((resolve) => setTimeout(resolve, config.SEARCH_INDEXER_POLL_MS));
      const left = await outbox.pendingCount();
      if (left < pending) progressAt = Date.now();
      else if (Date.now() - progressAt > STALL_LIMIT_MS) {
        throw new Error(
          `${left} entries still pending and no progress for ${STALL_LIMIT_MS / 1000} s; is Chroma up?`,
        );
      }
      if (left !== pending) logger.info({ pending: left }, 'indexing');
      pending = left;
    }
    logger.info({ collection: index.name, messages: queued }, 'reindex complete');
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`reindex failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
