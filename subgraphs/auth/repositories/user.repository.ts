import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../../common/identity/roles';
import type { UserCredentials, UserPosition, UserRecord } from '../records/user.record';
import { UserEntity } from '../store/entities/user.entity';

const toRecord = (entity: UserEntity): UserRecord => ({
  id: entity.id,
  email: entity.email,
  displayName: entity.displayName,
  role: entity.role,
  createdAt: entity.createdAt,
  emailVerifiedAt: entity.emailVerifiedAt,
});

const toCredentials = (entity: UserEntity): UserCredentials => ({
  user: toRecord(entity),
  passwordHash: entity.passwordHash,
});

export interface NewUser {
  email: string;
  displayName: string;
  passwordHash: string;
}

/**
 * Promotes the accounts listed in `adminEmails` that are verified and whose role nobody has set
 * yet (or only `userId` among them) and returns their ids. The update is conditional, so replicas
 * starting together promote each account once.
 */
async function promoteListed(em: EntityManager, adminEmails: readonly string[], userId?: string) {
  if (adminEmails.length === 0) return [];
  const promotable = {
    email: { $in: [...adminEmails] },
    emailVerifiedAt: { $ne: null },
    roleSetAt: null,
    ...(userId === undefined ? {} : { id: userId }),
  };
  const users = await em.find(UserEntity, promotable, { fields: ['id'] });
  if (users.length === 0) return [];
  const ids = users.map((user) => user.id);
  await em.nativeUpdate(
    UserEntity,
    { ...promotable, id: { $in: ids } },
    { role: 'ADMIN', roleSetAt: new Date() },
  );
  return ids;
}

/**
 * Within another repository's transaction (a verification or a reset spending its token): marks the
 * account's address verified and applies ADMIN_EMAILS to it; true if that promoted it.
 */
export async function confirmAddressIn(
  em: EntityManager,
  userId: string,
  adminEmails: readonly string[],
): Promise<boolean> {
  await em.nativeUpdate(UserEntity, { id: userId, emailVerifiedAt: null }, { emailVerifiedAt: new Date() });
  return (await promoteListed(em, adminEmails, userId)).length > 0;
}

/** The only code that touches the `users` table; each method is its own unit of work. */
export class UserRepository {
  constructor(private readonly em: EntityManager) {}

  async findById(id: string): Promise<UserRecord | null> {
    const user = await this.em.fork().findOne(UserEntity, { id });
    return user ? toRecord(user) : null;
  }

  /** `email` as stored: normalized. */
  async findByEmail(email: string): Promise<UserRecord | null> {
    const user = await this.em.fork().findOne(UserEntity, { email });
    return user ? toRecord(user) : null;
  }

  /** One query for many ids, in no particular order; missing ones are left out. */
  async findByIds(ids: readonly string[]): Promise<UserRecord[]> {
    return (await this.em.fork().find(UserEntity, { id: { $in: [...ids] } })).map(toRecord);
  }

  async emailTaken(email: string): Promise<boolean> {
    return (await this.em.fork().count(UserEntity, { email })) > 0;
  }

  async credentialsByEmail(email: string): Promise<UserCredentials | null> {
    const user = await this.em.fork().findOne(UserEntity, { email });
    return user ? toCredentials(user) : null;
  }

  async credentialsById(id: string): Promise<UserCredentials | null> {
    const user = await this.em.fork().findOne(UserEntity, { id });
    return user ? toCredentials(user) : null;
  }

  /** A new USER account; null when its email is taken (of two registrations at once, the unique index decides). */
  async insert(user: NewUser): Promise<UserRecord | null> {
    const entity = Object.assign(new UserEntity(), user);
    try {
      await this.em.fork().insert(entity);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return null;
      throw error;
    }
    return toRecord(entity);
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.em.fork().nativeUpdate(UserEntity, { id }, { passwordHash });
  }

  /** Sets the role and records that it was set (so ADMIN_EMAILS leaves it alone); null if no such account. */
  async setRole(id: string, role: Role): Promise<UserRecord | null> {
    const em = this.em.fork();
    const user = await em.findOne(UserEntity, { id }, { disableIdentityMap: true });
    if (!user) return null;
    const changed = { role, roleSetAt: new Date() };
    await em.nativeUpdate(UserEntity, { id }, changed);
    return toRecord(Object.assign(user, changed));
  }

  /** Up to `limit` accounts after `after`, oldest first. */
  async listAfter(limit: number, after: UserPosition | null): Promise<UserRecord[]> {
    const rows = await this.em.fork().find(
      UserEntity,
      after
        ? {
            $or: [
              { createdAt: { $gt: after.createdAt } },
              { createdAt: after.createdAt, id: { $gt: after.id } },
            ],
          }
        : {},
      { orderBy: { createdAt: 'asc', id: 'asc' }, limit },
    );
    return rows.map(toRecord);
  }

  /** ADMIN_EMAILS at start: every listed account that is verified and whose role nobody has set; their ids. */
  promoteListed(adminEmails: readonly string[]): Promise<string[]> {
    return promoteListed(this.em.fork(), adminEmails);
  }
}
