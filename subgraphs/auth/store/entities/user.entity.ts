import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '../../../../common/identity/roles';

@Entity({ tableName: 'users' })
export class UserEntity {
  [OptionalProps]?: 'role' | 'createdAt' | 'emailVerifiedAt' | 'roleSetAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Stored trimmed and lower-cased; uniqueness is case-insensitive by construction. */
  @Property({ type: 'string', length: 320, unique: true })
  email!: string;

  @Property({ type: 'string', length: 100 })
  displayName!: string;

  /** argon2id, in its self-describing PHC string format (algorithm, parameters, salt, hash). */
  @Property({ type: 'string', length: 255, hidden: true })
  passwordHash!: string;

  @Enum({ items: [...ROLES], nativeEnumName: 'user_role' })
  role: Role = 'USER';

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** When its owner proved they receive mail at `email` (a verification link, or a password reset). */
  @Property({ type: 'Date', nullable: true })
  emailVerifiedAt: Date | null = null;

  /**
   * When an operator (setUserRole, `npm run admin`) or ADMIN_EMAILS last set the role. ADMIN_EMAILS
   * promotes only accounts without one, so it never undoes an operator's demotion.
   */
  @Property({ type: 'Date', nullable: true })
  roleSetAt: Date | null = null;
}
