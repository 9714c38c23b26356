import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A user's custom instructions, applied to every conversation that does not turn them off. */
@Entity({ tableName: 'user_instructions' })
export class UserInstructionsEntity {
  /** The auth subgraph's user id. */
  @PrimaryKey({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'text' })
  aboutMe!: string;

  @Property({ type: 'text' })
  howToAnswer!: string;

  @Property({ type: 'Date' })
  updatedAt: Date = new Date();
}
