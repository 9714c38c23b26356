import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreationBudget } from '../../../common/stores/creation-budget';
import type { ConversationCache } from '../cache/conversation-cache';
import type { Repositories } from '../repositories';
import type { Loaders } from './loaders';

/** Starts the search indexer's next round now rather than at its next poll. */
export interface IndexerTrigger {
  wake(): void;
}

/** What every service of one request shares: its EntityManager fork, loaders and the singletons. */
export interface ServiceContext {
  em: EntityManager;
  repositories: Repositories;
  loaders: Loaders;
  cache: ConversationCache;
  indexer: IndexerTrigger;
  /** Each user's budget of new conversations. */
  conversationCreations: CreationBudget;
  messageMaxChars: number;
}
