import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** One thing a user asked the assistant to remember; it goes into every prompt of theirs until forgotten. */
@Entity({ tableName: 'memories' })
@Index({ name: 'memories_owner_idx', properties: ['ownerId', 'createdAt', 'id'] })
export class MemoryEntity {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'text' })
  text!: string;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();
}
