import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A mailed, single-use password reset token, known only by its SHA-256. */
@Entity({ tableName: 'password_reset_tokens' })
export class PasswordResetTokenEntity {
  [OptionalProps]?: 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'string', length: 64 })
  tokenHash!: string;

  @Property({ type: 'uuid', index: true })
  userId!: string;

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date' })
  expiresAt!: Date;

  /** Set when the token is consumed, or when a newer one for the same user replaces it. */
  @Property({ type: 'Date', nullable: true })
  usedAt: Date | null = null;
}
