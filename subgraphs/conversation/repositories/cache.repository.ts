import type { Connection } from '../../../common/graphql/pagination';
import type { ConversationRecord } from '../records/conversation.record';
import type { MessageRecord } from '../records/message.record';
import { conversationScope, userScope } from '../store/cache-keys';
import type { GenerationalCache } from './generational-cache';

/**
 * What this subgraph caches, and which writes retire it: a user's conversation list pages
 * (scope: the user) and a conversation with its pages of active-branch messages (scope: the
 * conversation). Callers invalidate after their transaction commits. The only code that touches
 * the cache's Redis keys, through GenerationalCache.
 */
export class CacheRepository {
  constructor(private readonly cache: GenerationalCache) {}

  listPage(
    userId: string,
    page: string,
    load: () => Promise<Connection<ConversationRecord>>,
  ): Promise<Connection<ConversationRecord>> {
    return this.cache.getOrLoad(userScope(userId), `list:${page}`, load);
  }

  conversation(
    conversationId: string,
    load: () => Promise<ConversationRecord | null>,
  ): Promise<ConversationRecord | null> {
    return this.cache.getOrLoad(conversationScope(conversationId), 'row', load);
  }

  branchPage(
    conversationId: string,
    page: string,
    load: () => Promise<Connection<MessageRecord>>,
  ): Promise<Connection<MessageRecord>> {
    return this.cache.getOrLoad(conversationScope(conversationId), `branch:${page}`, load);
  }

  /** The conversation row changed (created, renamed, deleted, new activity, branch switched). */
  conversationChanged(userId: string, conversationId: string): Promise<void> {
    return this.cache.invalidate(userScope(userId), conversationScope(conversationId));
  }

  /** A message's content or status changed; the conversation row and list did not. */
  messagesChanged(conversationId: string): Promise<void> {
    return this.cache.invalidate(conversationScope(conversationId));
  }
}
