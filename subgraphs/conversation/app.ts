import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { databaseTimeoutsOf } from '../../common/config/service-env';
import { RedisNonceStore } from '../../common/identity/identity-verifier';
import type { Logger } from '../../common/logging/logger';
import { DisposalStack } from '../../common/server/disposal-stack';
import type { HealthCheck } from '../../common/server/health';
import { type RunningSubgraph, startSubgraphServer } from '../../common/server/subgraph-server';
import { CreationBudget } from '../../common/stores/creation-budget';
import { createDatabase, migrate, pingDatabase } from '../../common/stores/database';
import { PublishedModelCatalog } from '../../common/stores/published-model-catalog';
import { createRedis } from '../../common/stores/redis';
import type { ConversationConfig } from './config';
import { type ConversationSingletons, createConversationContext } from './context';
import { openRepositories } from './repositories';
import { CacheRepository } from './repositories/cache.repository';
import { ModelCatalogRepository } from './repositories/model-catalog.repository';
import { GenerationalCache } from './repositories/generational-cache';
import { buildConversationSchema } from './schema';
import { createSearch, type Search } from './search/create-search';
import { conversationDatabase } from './store/database';

/**
 * Wires the conversation subgraph: database (migrated), Redis cache, search, schema, server.
 * Everything it acquires is on one disposal stack, which stop() and a failed start both unwind.
 */
export function startConversationSubgraph(
  config: ConversationConfig,
  logger: Logger,
): Promise<RunningSubgraph> {
  return new DisposalStack(logger).build(async (stack) => {
    const database = conversationDatabase(config, logger);
    const orm = stack.use(
      'postgres',
      await createDatabase({ ...database, timeouts: databaseTimeoutsOf(config) }),
      (orm) => orm.close(),
    );
    const redis = stack.use(
      'redis',
      createRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger }),
      (redis) => redis.disconnect(),
    );
    // The model catalog chat publishes is under a key shared with it: no key prefix.
    const shared = stack.use(
      'redis shared keys',
      createRedis({ url: config.REDIS_URL, logger }),
      (connection) => connection.disconnect(),
    );
    await migrate(database);
    const search = createSearch(config, () => openRepositories(orm), logger);
    stack.defer('chroma connections', () => search.chroma.rest.close());
    stack.defer('search indexer', () => search.indexer.stop());
    if (config.SEARCH_INDEXER_ENABLED) search.indexer.start();
    const singletons = conversationSingletons(config, orm, redis, shared, search, logger);
    return startSubgraphServer({
      name: 'conversation',
      schema: await buildConversationSchema(),
      host: config.HOST,
      port: config.CONVERSATION_PORT,
      logger,
      identitySecret: config.IDENTITY_SECRET,
      nonces: new RedisNonceStore(redis),
      guard: config,
      shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
      trustedServices: config.INTERNAL_CALLERS,
      healthChecks: healthChecks(orm, redis, search),
      createContext: (base) => createConversationContext(singletons, base),
      onStop: () => stack.dispose(),
    });
  });
}

/** What every request shares. */
function conversationSingletons(
  config: ConversationConfig,
  orm: MikroORM<PostgreSqlDriver>,
  redis: Redis,
  shared: Redis,
  search: Search,
  logger: Logger,
): ConversationSingletons {
  return {
    openRepositories: () => openRepositories(orm),
    cache: new CacheRepository(new GenerationalCache(redis, config.CONVERSATION_CACHE_TTL_SECONDS, logger)),
    indexer: search.indexer,
    search: { embedding: search.embedding, index: search.index, logger },
    conversationCreations: new CreationBudget(redis, 'conversations', config.CONVERSATION_CREATION_BUDGET),
    messageMaxChars: config.MESSAGE_MAX_CHARS,
    models: new ModelCatalogRepository(new PublishedModelCatalog(shared, config.MODEL_CATALOG_KEY), logger),
  };
}

function healthChecks(
  orm: MikroORM<PostgreSqlDriver>,
  redis: Redis,
  search: Search,
): Record<string, HealthCheck> {
  return {
    postgres: { check: () => pingDatabase(orm), critical: true },
    // The cache could do without it, but no signed identity can be checked once (its nonce).
    redis: { check: () => redis.ping(), critical: true },
    chroma: { check: () => search.chroma.client.heartbeat(), critical: false },
  };
}
