import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { MessageRole, MessageStatus } from '../../records/message.record';

/**
 * One node of a conversation's message tree. An edited or regenerated message is a sibling
 * (same parent), so every path from the root to a leaf is one branch of the conversation.
 * The table's `seq` column (an identity the database assigns, see the migration) orders messages
 * by creation where timestamps tie; only SQL in the repository reads it, so it is not mapped here.
 */
@Entity({ tableName: 'messages' })
export class MessageEntity {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'model' | 'promptTokens' | 'completionTokens';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  conversationId!: string;

  @Property({ type: 'uuid', nullable: true })
  parentId!: string | null;

  /** Distance from the root (0), so a branch can be paged by position without walking it all. */
  @Property({ type: 'integer' })
  depth!: number;

  @Enum({ items: () => MessageRole })
  role!: MessageRole;

  @Property({ type: 'text' })
  content!: string;

  @Enum({ items: () => MessageStatus })
  status!: MessageStatus;

  @Property({ type: 'string', length: 100, nullable: true })
  model: string | null = null;

  @Property({ type: 'integer', nullable: true })
  promptTokens: number | null = null;

  @Property({ type: 'integer', nullable: true })
  completionTokens: number | null = null;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();

  @Property({ type: 'Date' })
  updatedAt: Date = new Date();
}
