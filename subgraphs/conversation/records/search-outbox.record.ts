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
