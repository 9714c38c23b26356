import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

@Entity({ tableName: 'conversations' })
@Index({ name: 'conversations_owner_activity_idx', properties: ['ownerId', 'lastActivityAt', 'id'] })
export class ConversationEntity {
  [OptionalProps]?:
    | 'createdAt'
    | 'updatedAt'
    | 'lastActivityAt'
    | 'activeLeafId'
    | 'model'
    | 'systemPrompt'
    | 'temperature'
    | 'topP'
    | 'maxOutputTokens'
    | 'recallEnabled'
    | 'instructionsEnabled';

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

  // The conversation's settings (common/records/conversation-settings.record.ts): null means the
  // deployment's default.
  @Property({ type: 'string', length: 200, nullable: true })
  model: string | null = null;

  /** Its own system prompt; '' means none at all. */
  @Property({ type: 'text', nullable: true })
  systemPrompt: string | null = null;

  @Property({ type: 'float', columnType: 'double precision', nullable: true })
  temperature: number | null = null;

  @Property({ type: 'float', columnType: 'double precision', nullable: true })
  topP: number | null = null;

  @Property({ type: 'integer', nullable: true })
  maxOutputTokens: number | null = null;

  /** Whether replies may draw on the owner's other conversations. */
  @Property({ type: 'boolean' })
  recallEnabled: boolean = true;

  /** Whether the owner's custom instructions go into this conversation's prompts. */
  @Property({ type: 'boolean' })
  instructionsEnabled: boolean = true;
}
