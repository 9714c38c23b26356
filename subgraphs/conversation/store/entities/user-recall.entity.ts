import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A user's switch for recall from their other conversations; no row means on. */
@Entity({ tableName: 'user_recall' })
export class UserRecallEntity {
  /** The auth subgraph's user id. */
  @PrimaryKey({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'boolean' })
  recallEnabled!: boolean;

  @Property({ type: 'Date' })
  updatedAt: Date = new Date();
}
