import type { EntityManager } from '@mikro-orm/postgresql';
import { ConversationRepository } from './conversation.repository';
import { MessageRepository } from './message.repository';
import { SearchOutboxRepository } from './search-outbox.repository';

export interface Repositories {
  conversations: ConversationRepository;
  messages: MessageRepository;
  outbox: SearchOutboxRepository;
}

/** The repositories over one EntityManager: a request's fork, or a transaction's. */
export const repositoriesFor = (em: EntityManager): Repositories => ({
  conversations: new ConversationRepository(em),
  messages: new MessageRepository(em),
  outbox: new SearchOutboxRepository(em),
});
