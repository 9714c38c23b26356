import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A refresh token, known only by its SHA-256. A session has one live token; rotated ones stay
 * (until they expire) so that presenting one again is recognised as reuse.
 */
@Entity({ tableName: 'refresh_tokens' })
export class RefreshTokenEntity {
  [OptionalProps]?: 'createdAt' | 'rotatedAt';

  @PrimaryKey({ type: 'string', length: 64 })
  tokenHash!: string;

  @Property({ type: 'uuid' })
  sessionId!: string;

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date' })
  expiresAt!: Date;

  @Property({ type: 'Date', nullable: true })
  rotatedAt: Date | null = null;
}
