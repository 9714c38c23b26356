import type { CreationBudget } from '../../common/stores/creation-budget';
import type { BaseContext } from '../../common/server/subgraph-server';
import type { CacheRepository } from './repositories/cache.repository';
import type { ModelCatalogRepository } from './repositories/model-catalog.repository';
import type { Repositories } from './repositories';
import { ConversationService } from './services/conversation.service';
import { createLoaders } from './services/loaders';
import { MemoryService } from './services/memory.service';
import { MessageService } from './services/message.service';
import { PreferenceService } from './services/preference.service';
import { type SearchDependencies, SearchService } from './services/search.service';
import { TurnService } from './services/turn.service';
import type { IndexerTrigger } from './services/service-context';
import { ownerScope } from './services/owner-scope';

/** What lives as long as the process and every request shares. */
export interface ConversationSingletons {
  /** Repositories over a new unit of work, one per request. */
  openRepositories: () => Repositories;
  cache: CacheRepository;
  indexer: IndexerTrigger;
  search: SearchDependencies;
  conversationCreations: CreationBudget;
  messageMaxChars: number;
  models: ModelCatalogRepository;
}

export interface ConversationContext extends BaseContext {
  conversations: ConversationService;
  messages: MessageService;
  search: SearchService;
  preferences: PreferenceService;
  memories: MemoryService;
  turns: TurnService;
}

/** A request's context: its own unit of work and DataLoaders, services over them. */
export function createConversationContext(
  singletons: ConversationSingletons,
  base: BaseContext,
): ConversationContext {
  const repositories = singletons.openRepositories();
  const serviceContext = {
    repositories,
    loaders: createLoaders(repositories, ownerScope(base.caller)),
    cache: singletons.cache,
    indexer: singletons.indexer,
    conversationCreations: singletons.conversationCreations,
    messageMaxChars: singletons.messageMaxChars,
    models: singletons.models,
  };
  const conversations = new ConversationService(serviceContext);
  const messages = new MessageService(serviceContext);
  const search = new SearchService(serviceContext, singletons.search, conversations);
  return {
    ...base,
    conversations,
    messages,
    search,
    preferences: new PreferenceService(serviceContext),
    memories: new MemoryService(serviceContext),
    turns: new TurnService(serviceContext, messages, search),
  };
}
