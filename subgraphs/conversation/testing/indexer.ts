import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { silentLogger } from '../../../common/testing/logger';
import { type Deferred, deferred } from '../../../common/testing/wait';
import { createDatabase } from '../../../common/stores/database';
import { SearchIndexer, type SearchIndexerOptions } from '../jobs/search-indexer';
import { openRepositories } from '../repositories';
import type { MessageVector, VectorIndexRepository } from '../repositories/vector-index.repository';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import { conversationEntities } from '../store/entities';
import { conversationMigrations } from '../store/migrations';
import type { Harness } from './harness';

/** What a test indexer did to its in-memory index, call by call. */
export interface IndexCall {
  upserted: string[];
  removedMessages: string[];
  removedConversations: string[];
}

export interface TestIndexer {
  indexer: SearchIndexer;
  /** One entry per round that reached the index. */
  calls: IndexCall[];
  /** While set, the embedding model fails, as an unreachable one would. */
  failing: { error: Error | null };
  /**
   * Holds the next round that reaches the embedding model there, inside its transaction (the
   * entries taken, the advisory lock held): `reached` when it is there, until `release`.
   */
  holdNextRound: () => { reached: Promise<void>; release: () => void };
  /** The outbox as it is now: id, message, attempts, and whether it is due. */
  outbox: () => Promise<{ message_id: string | null; attempts: number; due: boolean }[]>;
  close: () => Promise<void>;
}

/**
 * A search indexer over the harness's schema, with an in-memory embedding model and index, for
 * tests that run its rounds themselves: start the harness with SEARCH_INDEXER_ENABLED=false.
 */
export async function startTestIndexer(
  harness: Harness,
  options: Partial<Pick<SearchIndexerOptions, 'batchSize' | 'wakeDelayMs'>> = {},
): Promise<TestIndexer> {
  const orm: MikroORM<PostgreSqlDriver> = await createDatabase({
    url: harness.env.DATABASE_URL,
    schema: harness.env.CONVERSATION_DB_SCHEMA,
    entities: conversationEntities,
    migrations: conversationMigrations,
    logger: silentLogger(),
  });
  const calls: IndexCall[] = [];
  const failing: { error: Error | null } = { error: null };
  let hold: { reached: Deferred<void>; released: Deferred<void> } | null = null;
  const embedding: EmbeddingModel = {
    name: 'test',
    dimensions: 2,
    embed: async (texts) => {
      if (hold) {
        const { reached, released } = hold;
        hold = null;
        reached.resolve();
        await released.promise;
      }
      if (failing.error) throw failing.error;
      return texts.map(() => [1, 0]);
    },
  };
  let call: IndexCall = { upserted: [], removedMessages: [], removedConversations: [] };
  const index = {
    upsert: async (vectors: readonly MessageVector[]) => {
      call = {
        upserted: vectors.map((vector) => vector.messageId),
        removedMessages: [],
        removedConversations: [],
      };
      calls.push(call);
    },
    removeMessages: async (ids: readonly string[]) => void call.removedMessages.push(...ids),
    removeConversation: async (id: string) => void call.removedConversations.push(id),
  } as unknown as VectorIndexRepository;
  const indexer = new SearchIndexer(() => openRepositories(orm), embedding, index, {
    batchSize: 64,
    pollMs: 60_000,
    wakeDelayMs: 0,
    maxBackoffMs: 60_000,
    logger: silentLogger(),
    ...options,
  });
  return {
    indexer,
    calls,
    failing,
    holdNextRound: () => {
      const next = { reached: deferred(), released: deferred() };
      hold = next;
      return { reached: next.reached.promise, release: () => next.released.resolve() };
    },
    outbox: () =>
      orm.em
        .fork()
        .execute('select message_id, attempts, available_at <= now() as due from search_outbox order by id'),
    close: () => orm.close(),
  };
}
