import type { EntityManager } from '@mikro-orm/postgresql';
import type { ConversationSettings } from '../../../common/records/conversation-settings.record';
import type { ConversationRecord } from '../records/conversation.record';

/** Position in an owner's list: most recently active first, the id breaking ties. */
export interface ActivityPosition {
  lastActivityAt: Date;
  id: string;
}

/** A raw `conversations` row as PostgreSQL returns it (timestamps may arrive as strings, as in JSON). */
export interface ConversationRow {
  id: string;
  owner_id: string;
  title: string;
  created_at: Date | string;
  updated_at: Date | string;
  last_activity_at: Date | string;
  active_leaf_id: string | null;
  model: string | null;
  system_prompt: string | null;
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  recall_enabled: boolean;
  instructions_enabled: boolean;
}

export const conversationFromRow = (row: ConversationRow): ConversationRecord => ({
  id: row.id,
  ownerId: row.owner_id,
  title: row.title,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  lastActivityAt: new Date(row.last_activity_at),
  activeLeafId: row.active_leaf_id,
  settings: {
    model: row.model,
    systemPrompt: row.system_prompt,
    temperature: row.temperature,
    topP: row.top_p,
    maxOutputTokens: row.max_output_tokens,
    recallEnabled: row.recall_enabled,
    instructionsEnabled: row.instructions_enabled,
  },
});

/** The statement that inserts `conversation` as it is; a turn's write embeds it (TurnRepository). */
export const insertConversation = (conversation: ConversationRecord) => ({
  sql: `insert into conversations (id, owner_id, title, created_at, updated_at, last_activity_at, active_leaf_id,
          model, system_prompt, temperature, top_p, max_output_tokens, recall_enabled, instructions_enabled)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  params: [
    conversation.id,
    conversation.ownerId,
    conversation.title,
    conversation.createdAt,
    conversation.updatedAt,
    conversation.lastActivityAt,
    conversation.activeLeafId,
    conversation.settings.model,
    conversation.settings.systemPrompt,
    conversation.settings.temperature,
    conversation.settings.topP,
    conversation.settings.maxOutputTokens,
    conversation.settings.recallEnabled,
    conversation.settings.instructionsEnabled,
  ],
});

/**
 * The only code that touches the `conversations` table, in plain SQL: the records go to callers
 * and to the cache, and must reflect the row as it is now.
 */
export class ConversationRepository {
  constructor(private readonly em: EntityManager) {}

  async insert(conversation: ConversationRecord): Promise<void> {
    const { sql, params } = insertConversation(conversation);
    await this.em.execute(sql, params, 'run');
  }

  /** The conversations among `ids` that exist (and belong to `ownerId`, unless it is null). */
  async findByIds(ids: readonly string[], ownerId: string | null): Promise<ConversationRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.em.execute<ConversationRow[]>(
      `select * from conversations where id in (?) ${ownerId === null ? '' : 'and owner_id = ?'}`,
      ownerId === null ? [ids] : [ids, ownerId],
    );
    return rows.map(conversationFromRow);
  }

  /** Reads and locks an owned conversation until the transaction ends, so writers queue up. */
  async lockOwned(ownerId: string, id: string): Promise<ConversationRecord | null> {
    const [row] = await this.em.execute<ConversationRow[]>(
      'select * from conversations where id = ? and owner_id = ? for update',
      [id, ownerId],
    );
    return row ? conversationFromRow(row) : null;
  }

  /** Up to `limit` conversations of an owner after `after`, most recently active first. */
  async listByOwner(
    ownerId: string,
    limit: number,
    after: ActivityPosition | null,
  ): Promise<ConversationRecord[]> {
    const rows = await this.em.execute<ConversationRow[]>(
      `select * from conversations where owner_id = ?
       ${after ? 'and (last_activity_at < ? or (last_activity_at = ? and id < ?))' : ''}
       order by last_activity_at desc, id desc limit ?`,
      after ? [ownerId, after.lastActivityAt, after.lastActivityAt, after.id, limit] : [ownerId, limit],
    );
    return rows.map(conversationFromRow);
  }

  /** Renames an owned conversation, returning it as it is now; null when missing or not the owner's. */
  async rename(ownerId: string, id: string, title: string): Promise<ConversationRecord | null> {
    const [row] = await this.em.execute<ConversationRow[]>(
      'update conversations set title = ?, updated_at = ? where id = ? and owner_id = ? returning *',
      [title, new Date(), id, ownerId],
    );
    return row ? conversationFromRow(row) : null;
  }

  /** Stores new settings of a conversation the caller has locked, returning it as it is now. */
  async updateSettings(id: string, settings: ConversationSettings): Promise<ConversationRecord> {
    const [row] = await this.em.execute<ConversationRow[]>(
      `update conversations set model = ?, system_prompt = ?, temperature = ?, top_p = ?,
         max_output_tokens = ?, recall_enabled = ?, instructions_enabled = ?, updated_at = ?
       where id = ? returning *`,
      [
        settings.model,
        settings.systemPrompt,
        settings.temperature,
        settings.topP,
        settings.maxOutputTokens,
        settings.recallEnabled,
        settings.instructionsEnabled,
        new Date(),
        id,
      ],
    );
    return conversationFromRow(row);
  }

  /** Moves the active leaf of a conversation the caller has locked, returning it as it is now. */
  async setActiveLeaf(id: string, activeLeafId: string): Promise<ConversationRecord> {
    const [row] = await this.em.execute<ConversationRow[]>(
      'update conversations set active_leaf_id = ?, updated_at = ? where id = ? returning *',
      [activeLeafId, new Date(), id],
    );
    return conversationFromRow(row);
  }

  /** Deletes the conversation; its messages go with it (foreign keys cascade). */
  async delete(id: string): Promise<void> {
    await this.em.execute('delete from conversations where id = ?', [id], 'run');
  }
}
