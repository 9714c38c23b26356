import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** A named bundle of conversation settings owned by one user; the columns mirror conversations'. */
@Entity({ tableName: 'presets' })
@Index({ name: 'presets_owner_idx', properties: ['ownerId', 'createdAt', 'id'] })
export class PresetEntity {
  [OptionalProps]?: 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'string', length: 200, nullable: true })
  model!: string | null;

  @Property({ type: 'text', nullable: true })
  systemPrompt!: string | null;

  @Property({ type: 'float', columnType: 'double precision', nullable: true })
  temperature!: number | null;

  @Property({ type: 'float', columnType: 'double precision', nullable: true })
  topP!: number | null;

  @Property({ type: 'integer', nullable: true })
  maxOutputTokens!: number | null;

  @Property({ type: 'boolean' })
  recallEnabled!: boolean;

  @Property({ type: 'boolean' })
  instructionsEnabled!: boolean;

  @Property({ type: 'Date' })
  createdAt: Date = new Date();

  @Property({ type: 'Date' })
  updatedAt: Date = new Date();
}
