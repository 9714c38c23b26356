import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** One signed-in device: its refresh tokens rotate, its id is the `sid` of its access tokens. */
@Entity({ tableName: 'sessions' })
export class SessionEntity {
  [OptionalProps]?: 'createdAt' | 'lastUsedAt' | 'revokedAt' | 'userAgent';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid', index: true })
  userId!: string;

  @Property({ type: 'string', length: 512, nullable: true })
  userAgent: string | null = null;

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** Last sign-in or refresh; access tokens are verified by the gateway alone and do not touch it. */
  @Property({ type: 'Date', defaultRaw: 'now()' })
  lastUsedAt: Date = new Date();

  /** When its current refresh token expires; each refresh moves it. */
  @Property({ type: 'Date' })
  expiresAt!: Date;

  @Property({ type: 'Date', nullable: true })
  revokedAt: Date | null = null;
}
