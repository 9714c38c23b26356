import type DataLoader from 'dataloader';
import { groupLoader, rowLoader } from '../../../common/graphql/dataloader';
import { isUuid } from '../../../common/util/ids';
import type { ConversationRecord } from '../records/conversation.record';
import type { MessageRecord, OwnedMessageRecord } from '../records/message.record';
import type { Repositories } from '../repositories';
import type { OwnerScope } from './owner-scope';

/** Versions of one message (siblings), at most: `Message.siblings` lists no more, and no more are made. */
export const MAX_SIBLINGS = 20;

/** Identifies a message's siblings: the children of its parent, or the roots of its conversation. */
export const siblingGroup = (message: Pick<MessageRecord, 'parentId' | 'conversationId'>) =>
  message.parentId ?? `root:${message.conversationId}`;

export interface Loaders {
  conversation: DataLoader<string, ConversationRecord | null>;
  message: DataLoader<string, OwnedMessageRecord | null>;
  siblings: DataLoader<string, MessageRecord[]>;
}

/**
 * One request's batch loaders. The visibility rule is applied in the query itself, so a row
 * the caller may not see is never loaded: it is null, exactly like a missing one.
 */
export function createLoaders(repositories: Repositories, scope: OwnerScope): Loaders {
  const ownerFilter = typeof scope === 'object' ? scope.ownerId : null;
  const visible =
    <Row>(fetch: (ids: string[]) => Promise<Row[]>) =>
    (keys: readonly string[]) => {
      const ids = keys.filter(isUuid);
      return scope === 'nobody' || ids.length === 0 ? Promise.resolve([]) : fetch(ids);
    };
  return {
    conversation: rowLoader(
      visible((ids) => repositories.conversations.findByIds(ids, ownerFilter)),
      (row) => row.id,
    ),
    message: rowLoader(
      visible((ids) => repositories.messages.findByIds(ids, ownerFilter)),
      (row) => row.id,
    ),
    // Keys come from messages already loaded through the rules above, so no owner filter here.
    siblings: groupLoader(
      (groups) =>
        repositories.messages.childrenOf(
          groups.filter((group) => !group.startsWith('root:')),
          groups.filter((group) => group.startsWith('root:')).map((group) => group.slice('root:'.length)),
          MAX_SIBLINGS,
        ),
      siblingGroup,
    ),
  };
}
