import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { inTransaction } from '../../../common/stores/transaction';
import { ConversationRepository } from './conversation.repository';
import { MemoryRepository } from './memory.repository';
import { MessageRepository } from './message.repository';
import { PreferenceRepository } from './preference.repository';
import { SearchOutboxRepository } from './search-outbox.repository';
import { TurnRepository } from './turn.repository';

/** The PostgreSQL repositories of one unit of work. */
export interface Repositories {
  conversations: ConversationRepository;
  messages: MessageRepository;
  outbox: SearchOutboxRepository;
  preferences: PreferenceRepository;
  memories: MemoryRepository;
  turns: TurnRepository;
  /** Runs `work` in one transaction, over repositories bound to it; commits when it returns. */
  withTransaction<T>(work: (repositories: Repositories) => Promise<T>): Promise<T>;
}

/** The repositories over one EntityManager: a unit of work's fork, or a transaction's. */
const repositoriesFor = (em: EntityManager): Repositories => ({
  conversations: new ConversationRepository(em),
  messages: new MessageRepository(em),
  outbox: new SearchOutboxRepository(em),
  preferences: new PreferenceRepository(em),
  memories: new MemoryRepository(em),
  turns: new TurnRepository(em),
  withTransaction: (work) => inTransaction(em, (transaction) => work(repositoriesFor(transaction))),
});

/** Repositories over a unit of work of their own (an EntityManager fork): one per request or job round. */
export const openRepositories = (orm: MikroORM<PostgreSqlDriver>): Repositories =>
  repositoriesFor(orm.em.fork() as EntityManager);
