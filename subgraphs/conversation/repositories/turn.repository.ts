import type { EntityManager } from '@mikro-orm/postgresql';
import type { ConversationRecord } from '../records/conversation.record';
import type { MemoryRecord } from '../records/memory.record';
import type { MessageRecord, OwnedMessageRecord } from '../records/message.record';
import type { InstructionsRecord } from '../records/preference.record';
import { type ConversationRow, conversationFromRow, insertConversation } from './conversation.repository';
import { MAX_MEMORIES } from './memory.repository';
import { MESSAGE_COLUMNS, type MessageRow, messageFromRow, parentOf } from './message.repository';
import { queueMessageUpserts } from './search-outbox.repository';
import { executePrepared } from '../../../common/stores/prepared-statement';

/** What one turn's prompt is built from, as stored; the service checks access and applies defaults. */
export interface StoredTurnContext {
  /** The message the history ends at, when one was asked for and the owner's; with its owner. */
  leaf: OwnedMessageRecord | null;
  /** The conversation of the leaf, else the one asked for, when the owner's. */
  conversation: ConversationRecord | null;
  instructions: InstructionsRecord | null;
  /** Null when the owner never set it. */
  recallEnabled: boolean | null;
  /** Newest first, at most MAX_MEMORIES. */
  memories: MemoryRecord[];
  /** The branch ending at the leaf (or the conversation's active leaf), oldest first. */
  history: MessageRecord[];
  /** The message the history's first one answers, when the history was cut short of the root. */
  beforeHistory: MessageRecord | null;
}

/** A turn's messages with their conversation: new (inserted with them), or existing (its activity). */
export interface TurnWrite {
  /** As it is once the turn is stored: its active leaf is the last of `messages`. */
  conversation: ConversationRecord;
  isNewConversation: boolean;
  /** Oldest first: each under the one before, the first under the conversation's chosen parent. */
  messages: MessageRecord[];
  /** Of `messages`, those the search index takes now. */
  indexable: MessageRecord[];
}

interface ContextRow {
  leaf: (MessageRow & { owner_id: string }) | null;
  conversation: ConversationRow | null;
  instructions: { about_me: string; how_to_answer: string } | null;
  recall_enabled: boolean | null;
  memories: { id: string; owner_id: string; text: string; created_at: string }[];
  history: MessageRow[];
}

const MESSAGE_VALUES = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * A chat turn's reads and writes: what the send path waits on, one statement each across the
 * tables it spans (conversations, messages, search_outbox, the owner's preferences and memories),
 * where one repository per table would take a round trip per table.
 */
export class TurnRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Everything a turn's prompt needs in one statement: the leaf (`leafId`, owned) or else the
   * conversation's active leaf, the conversation, the owner's instructions, recall switch and
   * memories, and the newest `historyLimit` messages of the branch ending at the leaf, with the
   * message before them (what the first of them answers: its `parent` then needs no read).
   */
  async context(
    ownerId: string,
    conversationId: string | null,
    leafId: string | null,
    historyLimit: number,
  ): Promise<StoredTurnContext> {
    const [row] = await executePrepared<ContextRow>(
      this.em,
      'turn-context',
      `with recursive
       leaf as (
         select ${MESSAGE_COLUMNS}, c.owner_id from messages m join conversations c on c.id = m.conversation_id
         where m.id = ? and c.owner_id = ?
       ),
       conversation as (
         select * from conversations
         where id = coalesce((select conversation_id from leaf), ?) and owner_id = ?
       ),
       path as (
         select messages.*, 1 as steps from messages
         where id = coalesce((select id from leaf), (select active_leaf_id from conversation))
         union all
         select p.*, path.steps + 1 from path ${parentOf('path')} where path.steps < ?
       )
       select
         (select row_to_json(leaf) from leaf) as leaf,
         (select row_to_json(conversation) from conversation) as conversation,
         (select json_build_object('about_me', about_me, 'how_to_answer', how_to_answer)
            from user_instructions where owner_id = ?) as instructions,
         (select recall_enabled from user_recall where owner_id = ?) as recall_enabled,
         (select coalesce(json_agg(m order by m.created_at desc, m.id desc), '[]') from (
            select id, owner_id, text, created_at from memories where owner_id = ?
            order by created_at desc, id desc limit ?
          ) m) as memories,
         (select coalesce(json_agg(m order by m.depth), '[]') from (select ${MESSAGE_COLUMNS} from path m) m)
           as history`,
      [leafId, ownerId, conversationId, ownerId, historyLimit + 1, ownerId, ownerId, ownerId, MAX_MEMORIES],
    );
    const path = row.history.map(messageFromRow);
    const cut = path.length > historyLimit;
    return {
      leaf: row.leaf && { ...messageFromRow(row.leaf), ownerId: row.leaf.owner_id },
      conversation: row.conversation && conversationFromRow(row.conversation),
      instructions: row.instructions && {
        aboutMe: row.instructions.about_me,
        howToAnswer: row.instructions.how_to_answer,
      },
      recallEnabled: row.recall_enabled,
      memories: row.memories.map((memory) => ({
        id: memory.id,
        ownerId: memory.owner_id,
        text: memory.text,
        createdAt: new Date(memory.created_at),
      })),
      history: cut ? path.slice(1) : path,
      beforeHistory: cut ? path[0] : null,
    };
  }

  /**
   * Stores a turn in one statement: its messages, their search outbox entries, and the
   * conversation, inserted with them or marked active at the last of them. One statement is
   * atomic on its own; an existing conversation must already be locked by the caller's transaction.
   */
  async insert(turn: TurnWrite): Promise<void> {
    const { conversation, messages, indexable } = turn;
    const conversationWrite = turn.isNewConversation
      ? insertConversation(conversation)
      : {
          sql: `update conversations set active_leaf_id = ?, last_activity_at = ?, updated_at = ? where id = ?`,
          params: [
            conversation.activeLeafId,
            conversation.lastActivityAt,
            conversation.updatedAt,
            conversation.id,
          ],
        };
    // Every row is checked against the foreign keys at the end of the statement, so the
    // conversation, its messages and its active leaf may refer to each other in any order. Prepared
    // under a name per shape: a new conversation or not, how many messages, whether any is queued.
    const queued = indexable.length > 0;
    const shape = `${turn.isNewConversation ? 'new' : 'existing'}-${messages.length}-${queued ? 'queued' : 'unqueued'}`;
    await executePrepared(
      this.em,
      `turn-insert-${shape}`,
      `with conversation_written as (${conversationWrite.sql}),
       messages_written as (
         insert into messages (id, conversation_id, parent_id, depth, role, content, status, model,
           created_at, updated_at)
         values ${messages.map(() => MESSAGE_VALUES).join(', ')}
         returning id, conversation_id
       )
       ${queued ? `, outbox_written as (${queueMessageUpserts('messages_written where id = any(?::uuid[])')})` : ''}
       select 1`,
      [
        ...conversationWrite.params,
        ...messages.flatMap((message) => [
          message.id,
          message.conversationId,
          message.parentId,
          message.depth,
          message.role,
          message.content,
          message.status,
          message.model,
          message.createdAt,
          message.updatedAt,
        ]),
        ...(queued ? [indexable.map((message) => message.id)] : []),
      ],
    );
  }
}
