import type { CreationBudget } from '../../../common/stores/creation-budget';
import type { CacheRepository } from '../repositories/cache.repository';
import type { ModelCatalogRepository } from '../repositories/model-catalog.repository';
import type { Repositories } from '../repositories';
import type { Loaders } from './loaders';

/** Starts the search indexer's next round now rather than at its next poll. */
export interface IndexerTrigger {
  wake(): void;
}

/** What every service of one request shares: its unit of work's repositories, loaders and the singletons. */
export interface ServiceContext {
  repositories: Repositories;
  loaders: Loaders;
  cache: CacheRepository;
  indexer: IndexerTrigger;
  /** Each user's budget of new conversations. */
  conversationCreations: CreationBudget;
  messageMaxChars: number;
  /** The models chat published, which stored settings are checked against. */
  models: ModelCatalogRepository;
}
