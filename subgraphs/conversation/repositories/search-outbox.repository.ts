import type { EntityManager } from '@mikro-orm/postgresql';
import { type OutboxEntry, OutboxOperation } from '../records/search-outbox.record';
import { SearchOutboxEntity } from '../store/entities/search-outbox.entity';

interface OutboxRow {
  id: string;
  operation: OutboxOperation;
  message_id: string | null;
  conversation_id: string;
  attempts: number;
}

/** The only code that touches the `search_outbox` table. */
export class SearchOutboxRepository {
  constructor(private readonly em: EntityManager) {}

  async enqueueMessage(messageId: string, conversationId: string): Promise<void> {
    await this.em.insert(
      SearchOutboxEntity,
      this.em.create(SearchOutboxEntity, {
        operation: OutboxOperation.UPSERT_MESSAGE,
        messageId,
        conversationId,
      }),
    );
  }

  /**
   * Queues the removal of a conversation's vectors. Its pending message upserts stay: applied
   * later they find their message gone, which removes its vector too.
   */
  async enqueueConversationDeletion(conversationId: string): Promise<void> {
    await this.em.insert(
      SearchOutboxEntity,
      this.em.create(SearchOutboxEntity, { operation: OutboxOperation.DELETE_CONVERSATION, conversationId }),
    );
  }

  /** Queues every message for (re)indexing, oldest first; returns how many. */
  async enqueueAllMessages(): Promise<number> {
    const result = await this.em.execute<{ affectedRows?: number; rowCount?: number }>(
      `insert into search_outbox (operation, message_id, conversation_id, available_at, created_at)
       select ?, id, conversation_id, now(), now() from messages order by seq`,
      [OutboxOperation.UPSERT_MESSAGE],
      'run',
    );
    return result.affectedRows ?? result.rowCount ?? 0;
  }

  /**
   * Claims the oldest due entries for this transaction. Only one indexer works at a time (an
   * advisory lock per schema), so entries are applied in the order they were written; the others
   * find the lock taken and return nothing.
   */
  async claimDue(limit: number): Promise<OutboxEntry[]> {
    const [lock] = await this.em.execute<{ locked: boolean }[]>(
      `select pg_try_advisory_xact_lock(hashtext(current_schema() || '.search_outbox')) as locked`,
    );
    if (!lock.locked) return [];
    const rows = await this.em.execute<OutboxRow[]>(
      `select id::text as id, operation, message_id, conversation_id, attempts from search_outbox
       where available_at <= now() order by id limit ? for update skip locked`,
      [limit],
    );
    return rows.map((row) => ({
      id: row.id,
      operation: row.operation,
      messageId: row.message_id,
      conversationId: row.conversation_id,
      attempts: row.attempts,
    }));
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.em.execute(`delete from search_outbox where id in (?)`, [ids], 'run');
  }

  /** Records a failed attempt and puts the entries off until `retryAt`. */
  async postpone(ids: readonly string[], retryAt: Date, error: string): Promise<void> {
    if (ids.length === 0) return;
    await this.em.execute(
      `update search_outbox set attempts = attempts + 1, available_at = ?, last_error = ? where id in (?)`,
      [retryAt, error.slice(0, 1000), ids],
      'run',
    );
  }

  async pendingCount(): Promise<number> {
    return this.em.count(SearchOutboxEntity, {});
  }
}
