import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { CreationBudget } from '../../common/stores/creation-budget';
import type { BaseContext } from '../../common/server/subgraph-server';
import type { ConversationCache } from './cache/conversation-cache';
import { repositoriesFor } from './repositories';
import { ConversationService } from './services/conversation.service';
import { createLoaders } from './services/loaders';
import { MessageService } from './services/message.service';
import { type SearchDependencies, SearchService } from './services/search.service';
import type { IndexerTrigger } from './services/service-context';
import { ownerScope } from './services/owner-scope';

/** What lives as long as the process and every request shares. */
export interface ConversationModule {
  orm: MikroORM<PostgreSqlDriver>;
  cache: ConversationCache;
  indexer: IndexerTrigger;
  search: SearchDependencies;
  conversationCreations: CreationBudget;
  messageMaxChars: number;
}

export interface ConversationContext extends BaseContext {
  conversations: ConversationService;
  messages: MessageService;
  search: SearchService;
}

/** A request's context: its own EntityManager fork and DataLoaders, services over them. */
export function createConversationContext(
  module: ConversationModule,
  base: BaseContext,
): ConversationContext {
  const em = module.orm.em.fork() as EntityManager;
  const repositories = repositoriesFor(em);
  const serviceContext = {
    em,
    repositories,
    loaders: createLoaders(repositories, ownerScope(base.caller)),
    cache: module.cache,
    indexer: module.indexer,
    conversationCreations: module.conversationCreations,
    messageMaxChars: module.messageMaxChars,
  };
  const conversations = new ConversationService(serviceContext);
  return {
    ...base,
    conversations,
    messages: new MessageService(serviceContext),
    search: new SearchService(serviceContext, module.search, conversations),
  };
}
