import type { OwnedMessageRecord } from './message.record';

export enum OutboxOperation {
  /** (Re)index one message as it is now in PostgreSQL; a message that is gone is removed instead. */
  UPSERT_MESSAGE = 'UPSERT_MESSAGE',
  /** Remove every vector of a deleted conversation. */
  DELETE_CONVERSATION = 'DELETE_CONVERSATION',
}

/** A pending change to the search index, as the indexer claims it. */
export interface OutboxEntry {
  id: string;
  operation: OutboxOperation;
  messageId: string | null;
  conversationId: string;
  attempts: number;
}

/** What the indexer needs of a message an entry names, as it is when the entry is taken. */
export type OutboxMessage = Pick<
  OwnedMessageRecord,
  'id' | 'ownerId' | 'conversationId' | 'content' | 'status'
>;

/** Entries taken off the outbox, oldest first, with the messages their upserts name that still exist. */
export interface DueEntries {
  entries: OutboxEntry[];
  messages: OutboxMessage[];
}
