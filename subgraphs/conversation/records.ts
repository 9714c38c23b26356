import type { MessageRole, MessageStatus } from './entities/message.entity';

/**
 * The plain shapes the services hand out and the cache stores: no ORM state attached, so a
 * value read from Redis and one read from PostgreSQL are interchangeable.
 */
export interface ConversationRecord {
  id: string;
  ownerId: string;
  title: string;
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  activeLeafId: string | null;
}

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
