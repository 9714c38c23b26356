import type { EntityManager } from '@mikro-orm/postgresql';
import type { BaseContext } from '../../common/subgraph-server';
import { ConversationService } from './services/conversation.service';

export interface ConversationContext extends BaseContext {
  conversations: ConversationService;
}

export function createConversationContext(em: EntityManager, base: BaseContext): ConversationContext {
  return { ...base, conversations: new ConversationService(em.fork()) };
}
