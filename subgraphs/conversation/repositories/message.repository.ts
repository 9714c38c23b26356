import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type MessageRecord,
  type MessageRole,
  MessageStatus,
  type OwnedMessageRecord,
} from '../records/message.record';
import { type ConversationRecord, DEFAULT_TITLE } from '../records/conversation.record';
import { conversationFromRow, type ConversationRow } from './conversation.repository';
import { queueMessageUpserts } from './search-outbox.repository';
import { executePrepared } from '../../../common/stores/prepared-statement';
import { isUuid } from '../../../common/util/ids';

/** A raw `messages` row as PostgreSQL returns it (timestamps may arrive as strings, as in JSON). */
export interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  depth: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  model: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.parent_id, m.depth, m.role, m.content, m.status, m.model,
  m.prompt_tokens, m.completion_tokens, m.created_at, m.updated_at`;

/**
 * A recursive walk's step up a branch: the parent of each message of the walk `step`, as `p`, looked
 * up by its key. The `limit` keeps the planner from turning the lookup into a join, which it plans
 * as a hash of the whole table per step whenever its statistics say the table is small (a new
 * deployment, a table grown since it was last analysed): 50 steps then read it 50 times.
 */
export const parentOf = (step: string) =>
  `cross join lateral (select * from messages where messages.id = ${step}.parent_id limit 1) p`;

export const messageFromRow = (row: MessageRow): MessageRecord => ({
  id: row.id,
  conversationId: row.conversation_id,
  parentId: row.parent_id,
  depth: row.depth,
  role: row.role,
  content: row.content,
  status: row.status,
  model: row.model,
  promptTokens: row.prompt_tokens,
  completionTokens: row.completion_tokens,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const toOwnedRecord = (row: MessageRow & { owner_id: string }): OwnedMessageRecord => ({
  ...messageFromRow(row),
  ownerId: row.owner_id,
});

/** What a save sets; a field absent or null stays as it is. */
export interface MessagePatch {
  content?: string | null;
  status?: MessageStatus | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  /** Names the message's conversation, only while it still has DEFAULT_TITLE (nobody named it). */
  conversationTitle?: string | null;
}

export interface SavedMessage {
  /** The message as it is now: as saved, or as it was when the save was refused. */
  message: OwnedMessageRecord;
  /** False when the message is final and the patch would change its content or status. */
  saved: boolean;
  /** Whether an outbox entry now queues its (re)indexing. */
  queued: boolean;
  /** Whether its conversation took the patch's `conversationTitle`. */
  titled: boolean;
}

/**
 * The only code that touches the `messages` table (a save queues its message's outbox entry in
 * the same statement); branch walks are recursive CTEs.
 */
export class MessageRepository {
  constructor(private readonly em: EntityManager) {}

  /** The messages among `ids` that exist (in conversations of `ownerId`, unless it is null). */
  async findByIds(ids: readonly string[], ownerId: string | null): Promise<OwnedMessageRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.em.execute<(MessageRow & { owner_id: string })[]>(
      `select ${MESSAGE_COLUMNS}, c.owner_id from messages m join conversations c on c.id = m.conversation_id
       where m.id in (?) ${ownerId === null ? '' : 'and c.owner_id = ?'}`,
      ownerId === null ? [ids] : [ids, ownerId],
    );
    return rows.map(toOwnedRecord);
  }

  /**
   * As `findByIds`, each message with its conversation, in one statement: what a recall's hits
   * answer with (their conversations' titles) without a second read.
   */
  async findByIdsWithConversations(
    ids: readonly string[],
    ownerId: string,
  ): Promise<{ message: OwnedMessageRecord; conversation: ConversationRecord }[]> {
    // One array parameter, not a list of values, so that every call is the same prepared statement.
    const wellFormed = ids.filter((id) => isUuid(id));
    if (wellFormed.length === 0) return [];
    const rows = await executePrepared<MessageRow & { owner_id: string; conversation: ConversationRow }>(
      this.em,
      'messages-with-conversations',
      `select ${MESSAGE_COLUMNS}, c.owner_id, row_to_json(c) as conversation
       from messages m join conversations c on c.id = m.conversation_id
       where m.id = any(?::uuid[]) and c.owner_id = ?`,
      [wellFormed, ownerId],
    );
    return rows.map((row) => ({
      message: toOwnedRecord(row),
      conversation: conversationFromRow(row.conversation),
    }));
  }

  /**
   * Saves a checkpoint or the final state of an owned message, in one statement: its row is
   * locked first, so concurrent saves apply in turn. Only a STREAMING message changes its content
   * or status (one equal to the stored value is no change); token counts always may. When its
   * content or status changed and the message is now final with some content, the same statement
   * queues its (re)indexing in the search outbox, and a `conversationTitle` names the conversation
   * if nobody has (a title its owner gave is kept). Null when it is missing or not the owner's
   * (`ownerId` null: whoever owns it, for recovery acting for no user).
   */
  async save(
    ownerId: string | null,
    id: string,
    patch: MessagePatch,
    at: Date,
  ): Promise<SavedMessage | null> {
    // Blank is judged on ASCII whitespace alone: at worst an entry more than isIndexable would
    // queue (the indexer skips it), never one fewer.
    const rows = await executePrepared<
      MessageRow & { owner_id: string; saved: boolean; queued: boolean; titled: boolean }
    >(
      this.em,
      'message-save',
      `with input as (
         select ?::uuid as id, ?::uuid as owner_id, ?::text as content, ?::text as status,
           ?::integer as prompt_tokens, ?::integer as completion_tokens, ?::timestamptz as at,
           ?::text as title
       ),
       previous as (
         select m.*, c.owner_id from input i
         join messages m on m.id = i.id
         join conversations c on c.id = m.conversation_id and (i.owner_id is null or c.owner_id = i.owner_id)
         for update of m
       ),
       saved as (
         update messages m set
           content = coalesce(i.content, m.content),
           status = coalesce(i.status, m.status),
           prompt_tokens = coalesce(i.prompt_tokens, m.prompt_tokens),
           completion_tokens = coalesce(i.completion_tokens, m.completion_tokens),
           updated_at = i.at
         from previous p, input i
         where m.id = p.id
           and (p.status = '${MessageStatus.STREAMING}'
             or (coalesce(i.content = p.content, true) and coalesce(i.status = p.status, true)))
         returning m.*, p.owner_id,
           (i.content <> p.content or i.status <> p.status) is true
             and m.status <> '${MessageStatus.STREAMING}'
             and btrim(m.content, E' \\t\\n\\r\\f') <> '' as queued
       ),
       queue as (${queueMessageUpserts('saved where queued')}),
       titled as (
         update conversations c set title = i.title, updated_at = i.at
         from saved s, input i
         where c.id = s.conversation_id and i.title is not null and c.title = ?
         returning c.id
       )
       select ${MESSAGE_COLUMNS}, m.owner_id, true as saved, m.queued, exists (select from titled) as titled
       from saved m
       union all
       select ${MESSAGE_COLUMNS}, m.owner_id, false, false, false from previous m where not exists (select from saved)`,
      [
        id,
        ownerId,
        patch.content ?? null,
        patch.status ?? null,
        patch.promptTokens ?? null,
        patch.completionTokens ?? null,
        at,
        patch.conversationTitle ?? null,
        DEFAULT_TITLE,
      ],
    );
    const [row] = rows;
    return row
      ? { message: toOwnedRecord(row), saved: row.saved, queued: row.queued, titled: row.titled }
      : null;
  }

  /**
   * The messages at depths `fromDepth`..`toDepth` of the branch ending at `leafId`, root side
   * first. The walk climbs from the leaf and stops at `fromDepth`, never visiting the rest.
   */
  async branchSlice(leafId: string, fromDepth: number, toDepth: number): Promise<MessageRecord[]> {
    const rows = await this.em.execute<MessageRow[]>(
      `with recursive branch as (
         select * from messages where id = ?
         union all
         select p.* from branch b ${parentOf('b')} where b.depth > ?
       )
       select ${MESSAGE_COLUMNS} from branch m where m.depth between ? and ? order by m.depth`,
      [leafId, fromDepth, fromDepth, toDepth],
    );
    return rows.map(messageFromRow);
  }

  /** The last `limit` messages of the branch ending at `leafId` (the leaf included), oldest first. */
  async pathToLeaf(leafId: string, limit: number): Promise<MessageRecord[]> {
    const rows = await this.em.execute<MessageRow[]>(
      `with recursive path as (
         select messages.*, 1 as steps from messages where id = ?
         union all
         select p.*, path.steps + 1 from path ${parentOf('path')} where path.steps < ?
       )
       select ${MESSAGE_COLUMNS} from path m order by m.depth`,
      [leafId, limit],
    );
    return rows.map(messageFromRow);
  }

  /**
   * The messages whose parent is one of `parentIds`, plus the roots of `rootConversationIds`
   * (the children of "no parent"), in creation order, the first `perGroup` of each: the
   * siblings of a batch of messages.
   */
  async childrenOf(
    parentIds: readonly string[],
    rootConversationIds: readonly string[],
    perGroup: number,
  ): Promise<MessageRecord[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (parentIds.length > 0) {
      conditions.push('m.parent_id in (?)');
      params.push(parentIds);
    }
    if (rootConversationIds.length > 0) {
      conditions.push('(m.parent_id is null and m.conversation_id in (?))');
      params.push(rootConversationIds);
    }
    if (conditions.length === 0) return [];
    const rows = await this.em.execute<MessageRow[]>(
      `select ${MESSAGE_COLUMNS} from (
         select m.*, row_number() over (partition by coalesce(m.parent_id, m.conversation_id) order by m.seq) as rank
         from messages m where ${conditions.join(' or ')}
       ) m where m.rank <= ? order by m.seq`,
      [...params, perGroup],
    );
    return rows.map(messageFromRow);
  }

  /**
   * Where a message goes in a conversation: the parent (`parentId` if it is in this conversation,
   * null for a root) and how many messages it has under it already (the roots, for null), in one
   * statement. Null when `parentId` names no message of this conversation.
   */
  async placeUnder(
    conversationId: string,
    parentId: string | null,
  ): Promise<{ parent: MessageRecord | null; children: number } | null> {
    const rows =
      parentId === null
        ? await executePrepared<MessageRow & { children: string }>(
            this.em,
            'message-place-at-root',
            `select null as id, count(*) as children from messages m
             where m.conversation_id = ? and m.parent_id is null`,
            [conversationId],
          )
        : await executePrepared<MessageRow & { children: string }>(
            this.em,
            'message-place-under',
            `select ${MESSAGE_COLUMNS}, (select count(*) from messages s where s.parent_id = m.id) as children
             from messages m where m.id = ? and m.conversation_id = ?`,
            [parentId, conversationId],
          );
    const [row] = rows;
    if (!row) return null;
    return { parent: row.id === null ? null : messageFromRow(row), children: Number(row.children) };
  }

  /** The leaf reached from `messageId` by always taking the newest child: where its branch ends now. */
  async newestLeafUnder(messageId: string): Promise<string> {
    const rows = await this.em.execute<{ id: string }[]>(
      `with recursive down as (
         select id, depth from messages where id = ?
         union all
         select child.id, child.depth from down
         cross join lateral (
           select id, depth from messages where parent_id = down.id order by seq desc limit 1
         ) child
       )
       select id from down order by depth desc limit 1`,
      [messageId],
    );
    return rows[0].id;
  }

  /** Every message of a conversation (all branches), in creation order. */
  async allInConversation(conversationId: string): Promise<MessageRecord[]> {
    const rows = await this.em.execute<MessageRow[]>(
      `select ${MESSAGE_COLUMNS} from messages m where m.conversation_id = ? order by m.seq`,
      [conversationId],
    );
    return rows.map(messageFromRow);
  }

  /**
   * Messages still being written by a model, oldest first (of one owner, unless null): at most
   * `limit`, after the message `afterId` when given.
   */
  async streaming(
    ownerId: string | null,
    limit: number,
    afterId: string | null,
  ): Promise<OwnedMessageRecord[]> {
    const conditions = ['m.status = ?'];
    const params: unknown[] = [MessageStatus.STREAMING];
    if (ownerId !== null) {
      conditions.push('c.owner_id = ?');
      params.push(ownerId);
    }
    if (afterId !== null) {
      conditions.push('m.seq > (select seq from messages where id = ?)');
      params.push(afterId);
    }
    const rows = await this.em.execute<(MessageRow & { owner_id: string })[]>(
      `select ${MESSAGE_COLUMNS}, c.owner_id from messages m join conversations c on c.id = m.conversation_id
       where ${conditions.join(' and ')} order by m.seq limit ?`,
      [...params, limit],
    );
    return rows.map(toOwnedRecord);
  }
}
