import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { OutboxOperation } from '../../records/search-outbox.record';

/**
 * A pending change to the search index, written in the same transaction as the change itself,
 * so PostgreSQL and Chroma cannot disagree for longer than the indexer takes to catch up.
 */
@Entity({ tableName: 'search_outbox' })
export class SearchOutboxEntity {
  [OptionalProps]?: 'id' | 'attempts' | 'availableAt' | 'lastError' | 'createdAt' | 'messageId';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Enum({ items: () => OutboxOperation })
  operation!: OutboxOperation;

  @Property({ type: 'uuid', nullable: true })
  messageId: string | null = null;

  @Property({ type: 'uuid' })
  conversationId!: string;

  @Property({ type: 'integer' })
  attempts = 0;

  /** Not picked up before this time; pushed forward with backoff after each failed attempt. */
  @Property({ type: 'Date' })
  availableAt: Date = new Date();

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();
}
