import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

@Entity({ tableName: 'conversations' })
@Index({ name: 'conversations_owner_activity_idx', properties: ['ownerId', 'lastActivityAt', 'id'] })
export class ConversationEntity {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'lastActivityAt' | 'activeLeafId';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** The auth subgraph's user id; no foreign key, since each service owns only its own tables. */
  @Property({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'string', length: 200 })
  title!: string;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  /** Orders a user's conversations, most recently active first. */
  @Property({ type: 'Date' })
  lastActivityAt: Date = new Date();

  /** The newest message of the branch being shown; the active branch runs from the root to it. */
  @Property({ type: 'uuid', nullable: true })
  activeLeafId: string | null = null;
}
