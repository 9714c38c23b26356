import type { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction } from '../../../common/stores/transaction';
import { EmailVerificationTokenEntity } from '../store/entities/email-verification-token.entity';
import { confirmAddressIn } from './user.repository';

export interface NewVerificationToken {
  tokenHash: string;
  userId: string;
  /** The address it is mailed to: it verifies that address only, should the account's change. */
  email: string;
  expiresAt: Date;
}

/** Email verification tokens (by their SHA-256); each method is its own unit of work. */
export class EmailVerificationRepository {
  constructor(private readonly em: EntityManager) {}

  /** Stores a new token for the user, retiring the earlier ones. */
  async issue(token: NewVerificationToken): Promise<void> {
    await inTransaction(this.em, async (tx) => {
      await tx.nativeUpdate(
        EmailVerificationTokenEntity,
        { userId: token.userId, usedAt: null },
        { usedAt: new Date() },
      );
      await tx.insert(Object.assign(new EmailVerificationTokenEntity(), token));
    });
  }

  /**
   * Spends a usable token of this user for this address and, in the same transaction, marks the
   * address verified and applies ADMIN_EMAILS; null when there is no such token.
   */
  spend(
    tokenHash: string,
    userId: string,
    email: string,
    adminEmails: readonly string[],
  ): Promise<{ promoted: boolean } | null> {
    return inTransaction(this.em, async (tx) => {
      const spent = await tx.nativeUpdate(
        EmailVerificationTokenEntity,
        { tokenHash, userId, email, usedAt: null, expiresAt: { $gt: new Date() } },
        { usedAt: new Date() },
      );
      if (spent === 0) return null;
      return { promoted: await confirmAddressIn(tx, userId, adminEmails) };
    });
  }

  /** Deletes tokens that can no longer be used. */
  deleteDead(): Promise<number> {
    return this.em.fork().nativeDelete(EmailVerificationTokenEntity, {
      $or: [{ expiresAt: { $lt: new Date() } }, { usedAt: { $ne: null } }],
    });
  }
}
