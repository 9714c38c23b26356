import type { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction } from '../../../common/stores/transaction';
import { PasswordResetTokenEntity } from '../store/entities/password-reset-token.entity';
import { UserEntity } from '../store/entities/user.entity';
import { confirmAddressIn } from './user.repository';

const usable = (tokenHash: string) => ({ tokenHash, usedAt: null, expiresAt: { $gt: new Date() } });

/** Password reset tokens (by their SHA-256); each method is its own unit of work. */
export class PasswordResetRepository {
  constructor(private readonly em: EntityManager) {}

  /** Stores a new token for the user, retiring the earlier ones. */
  async issue(token: { tokenHash: string; userId: string; expiresAt: Date }): Promise<void> {
    await inTransaction(this.em, async (tx) => {
      await tx.nativeUpdate(
        PasswordResetTokenEntity,
        { userId: token.userId, usedAt: null },
        { usedAt: new Date() },
      );
      await tx.insert(Object.assign(new PasswordResetTokenEntity(), token));
    });
  }

  /** The user a usable token is for, or null. */
  async userOfUsable(tokenHash: string): Promise<string | null> {
    return (await this.em.fork().findOne(PasswordResetTokenEntity, usable(tokenHash)))?.userId ?? null;
  }

  /**
   * Spends the token and, in the same transaction, sets the user's password hash, marks their
   * address verified and applies ADMIN_EMAILS; null when the token is no longer usable.
   */
  consume(
    tokenHash: string,
    userId: string,
    passwordHash: string,
    adminEmails: readonly string[],
  ): Promise<{ promoted: boolean } | null> {
    return inTransaction(this.em, async (tx) => {
      const spent = await tx.nativeUpdate(PasswordResetTokenEntity, usable(tokenHash), {
        usedAt: new Date(),
      });
      if (spent === 0) return null;
      await tx.nativeUpdate(UserEntity, { id: userId }, { passwordHash });
      return { promoted: await confirmAddressIn(tx, userId, adminEmails) };
    });
  }

  /** Deletes tokens that can no longer be used. */
  deleteDead(): Promise<number> {
    return this.em.fork().nativeDelete(PasswordResetTokenEntity, {
      $or: [{ expiresAt: { $lt: new Date() } }, { usedAt: { $ne: null } }],
    });
  }
}
