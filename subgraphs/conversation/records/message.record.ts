export enum MessageRole {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
  SYSTEM = 'SYSTEM',
}

export enum MessageStatus {
  COMPLETE = 'COMPLETE',
  STREAMING = 'STREAMING',
  STOPPED = 'STOPPED',
  INTERRUPTED = 'INTERRUPTED',
  FAILED = 'FAILED',
}

/**
 * A message as services hand it out and the cache stores it: no ORM state attached, so a value
 * read from Redis and one read from PostgreSQL are interchangeable.
 */
export interface MessageRecord {
  id: string;
  conversationId: string;
  parentId: string | null;
  depth: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A message together with its conversation's owner, which every access check needs. */
export interface OwnedMessageRecord extends MessageRecord {
  ownerId: string;
}
