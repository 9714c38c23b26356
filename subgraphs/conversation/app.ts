import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { CreationBudget } from '../../common/stores/creation-budget';
import { createDatabase, migrate, pingDatabase } from '../../common/stores/database';
import { RedisNonceStore } from '../../common/identity/identity-verifier';
import type { Logger } from '../../common/logging/logger';
import { createRedis } from '../../common/stores/redis';
import { databaseTimeoutsOf } from '../../common/config/service-env';
import { startSubgraphServer, type RunningSubgraph } from '../../common/server/subgraph-server';
import { CacheRepository } from './repositories/cache.repository';
import { GenerationalCache } from './repositories/generational-cache';
import type { ConversationConfig } from './config';
import { createConversationContext } from './context';
import { openRepositories } from './repositories';
import { conversationEntities } from './store/entities';
import { conversationMigrations } from './store/migrations';
import { buildConversationSchema } from './schema';
import { createChromaClient } from './store/chroma-client';
import { createEmbeddingModel } from './search/embeddings';
import { SearchIndexer } from './jobs/search-indexer';
import { VectorIndexRepository, collectionName } from './repositories/vector-index.repository';

/** The search side of the service: embedding model, Chroma collection, outbox indexer. */
export function createSearch(config: ConversationConfig, orm: MikroORM<PostgreSqlDriver>, logger: Logger) {
  const chroma = createChromaClient(config.CHROMA_URL);
  const embedding = createEmbeddingModel(config, logger);
  const index = new VectorIndexRepository(
    chroma,
    collectionName(config.CHROMA_COLLECTION_PREFIX, embedding),
    config.SEARCH_TIMEOUT_MS,
  );
  const indexer = new SearchIndexer(() => openRepositories(orm), embedding, index, {
    batchSize: config.SEARCH_INDEXER_BATCH_SIZE,
    pollMs: config.SEARCH_INDEXER_POLL_MS,
    maxBackoffMs: config.SEARCH_INDEXER_MAX_BACKOFF_MS,
    logger: logger.child({ component: 'search-indexer' }),
  });
  return { chroma, embedding, index, indexer };
}

/** Wires the conversation subgraph: database (migrated), Redis cache, search, schema, server. */
export async function startConversationSubgraph(
  config: ConversationConfig,
  logger: Logger,
): Promise<RunningSubgraph> {
  const database = {
    url: config.DATABASE_URL,
    schema: config.CONVERSATION_DB_SCHEMA,
    entities: conversationEntities,
    migrations: conversationMigrations,
    logger,
  };
  const orm = await createDatabase({ ...database, timeouts: databaseTimeoutsOf(config) });
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger });
  const search = createSearch(config, orm, logger);
  const close = async () => {
    await search.indexer.stop();
    redis.disconnect();
    await orm.close();
  };
  try {
    await migrate(database);
    if (config.SEARCH_INDEXER_ENABLED) search.indexer.start();
    const module = {
      openRepositories: () => openRepositories(orm),
      cache: new CacheRepository(new GenerationalCache(redis, config.CONVERSATION_CACHE_TTL_SECONDS, logger)),
      indexer: search.indexer,
      search: { embedding: search.embedding, index: search.index, logger },
      conversationCreations: new CreationBudget(redis, 'conversations', config.CONVERSATION_CREATION_BUDGET),
      messageMaxChars: config.MESSAGE_MAX_CHARS,
    };
    return await startSubgraphServer({
      name: 'conversation',
      schema: await buildConversationSchema(),
      host: config.HOST,
      port: config.CONVERSATION_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(redis),
      guard: config,
      trustedServices: config.INTERNAL_CALLERS,
      healthChecks: {
        postgres: { check: () => pingDatabase(orm), critical: true },
        // The cache could do without it, but no signed identity can be checked once (its nonce).
        redis: { check: () => redis.ping(), critical: true },
        chroma: { check: () => search.chroma.heartbeat(), critical: false },
      },
      createContext: (base) => createConversationContext(module, base),
      onStop: close,
    });
  } catch (error) {
    await close();
    throw error;
  }
}
