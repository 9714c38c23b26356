import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A mailed, single-use email verification token, known only by its SHA-256. */
@Entity({ tableName: 'email_verification_tokens' })
export class EmailVerificationTokenEntity {
  [OptionalProps]?: 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'string', length: 64 })
  tokenHash!: string;

  @Property({ type: 'uuid', index: true })
  userId!: string;

  /** The address it was mailed to: it verifies that address only, should the account's change. */
  @Property({ type: 'string', length: 320 })
  email!: string;

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date' })
  expiresAt!: Date;

  /** Set when the token is used, or when a newer one for the same user replaces it. */
  @Property({ type: 'Date', nullable: true })
  usedAt: Date | null = null;
}
