import type { EntityManager } from '@mikro-orm/postgresql';
import { Role, UserEntity } from '../store/entities/user.entity';
import { normalizeEmail } from './account-input';

/**
 * ADMIN_EMAILS. Registering an address proves nothing, so a listed address makes an admin only once
 * its owner has verified it, and only once: an account whose role an operator (or this list) has
 * set already is left as it is, so a demotion outlives every restart.
 */
export class AdminEmails {
  private readonly emails: string[];

  constructor(emails: readonly string[]) {
    this.emails = [...new Set(emails.map(normalizeEmail))];
  }

  /**
   * Promotes the listed accounts that are verified and whose role nobody has set yet (all of
   * them at start; one, `userId`, right after it is verified) and returns their ids. The update
   * is conditional, so replicas starting together promote each account once.
   */
  async promote(em: EntityManager, userId?: string): Promise<string[]> {
    if (this.emails.length === 0) return [];
    const promotable = {
      email: { $in: this.emails },
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
      { role: Role.ADMIN, roleSetAt: new Date() },
    );
    return ids;
  }
}
