import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessageStatus } from '../records/message.record';
import { type DueEntries, type OutboxMessage, OutboxOperation } from '../records/search-outbox.record';
import { SearchOutboxEntity } from '../store/entities/search-outbox.entity';
import { executePrepared } from '../../../common/stores/prepared-statement';

/** An entry taken off the outbox, with the message it names (its columns null when there is none). */
interface TakenRow {
  id: string;
  operation: OutboxOperation;
  message_id: string | null;
  conversation_id: string;
  attempts: number;
  owner_id: string | null;
  message_conversation_id: string | null;
  content: string | null;
  status: MessageStatus | null;
}

/**
 * The statement that queues the (re)indexing of the messages `from` selects (their `id` and
 * `conversation_id`; `from` is what follows FROM). A statement that writes messages embeds it, so
 * their entries go in with them (MessageRepository.save, TurnRepository.insert).
 */
export const queueMessageUpserts = (from: string) =>
  `insert into search_outbox (operation, message_id, conversation_id, available_at, created_at)
   select '${OutboxOperation.UPSERT_MESSAGE}', id, conversation_id, now(), now() from ${from}`;

/**
 * The only code that touches the `search_outbox` table, but for the entries the statements that
 * write messages queue with them (queueMessageUpserts).
 */
export class SearchOutboxRepository {
  constructor(private readonly em: EntityManager) {}

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
      queueMessageUpserts('messages order by seq'),
      [],
      'run',
    );
    return result.affectedRows ?? result.rowCount ?? 0;
  }

  /** Whether any entry is due; outside a transaction, so that a round with nothing to do is one statement. */
  async anyDue(): Promise<boolean> {
    const [row] = await executePrepared<{ due: boolean }>(
      this.em,
      'search-outbox-any-due',
      'select exists (select from search_outbox where available_at <= now()) as due',
      [],
    );
    return row.due;
  }

  /**
   * Takes the oldest due entries, with the messages they name as they are now, in one statement
   * within the caller's transaction: deleted, they are gone once it commits and back if it rolls
   * back. Only one indexer works at a time (an advisory lock per schema, held until the
   * transaction ends), so entries are applied in the order they were written; the others find
   * the lock taken and get nothing.
   */
  async takeDue(limit: number): Promise<DueEntries> {
    const rows = await executePrepared<TakenRow>(
      this.em,
      'search-outbox-take-due',
      `with lock as (
         select pg_try_advisory_xact_lock(hashtext(current_schema() || '.search_outbox')) as locked
       ),
       taken as (
         delete from search_outbox where id in (
           select id from search_outbox where available_at <= now() and (select locked from lock)
           order by id limit ? for update skip locked
         )
         returning id, operation, message_id, conversation_id, attempts
       )
       select t.id::text as id, t.operation, t.message_id, t.conversation_id, t.attempts,
         c.owner_id, m.conversation_id as message_conversation_id, m.content, m.status
       from taken t
       left join (messages m join conversations c on c.id = m.conversation_id) on m.id = t.message_id
       order by t.id`,
      [limit],
    );
    const messages = new Map<string, OutboxMessage>();
    for (const row of rows) {
      if (row.message_id === null || row.owner_id === null) continue;
      messages.set(row.message_id, {
        id: row.message_id,
        ownerId: row.owner_id,
        conversationId: row.message_conversation_id as string,
        content: row.content as string,
        status: row.status as MessageStatus,
      });
    }
    return {
      entries: rows.map((row) => ({
        id: row.id,
        operation: row.operation,
        messageId: row.message_id,
        conversationId: row.conversation_id,
        attempts: row.attempts,
      })),
      messages: [...messages.values()],
    };
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
