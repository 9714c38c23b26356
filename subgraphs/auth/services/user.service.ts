import type { Caller } from '../../../common/identity/caller';
import type { UserPosition, UserRecord } from '../records/user.record';
import type { UserRepository } from '../repositories/user.repository';
import { normalizeEmail } from './account-input';

/**
 * Whether the caller may read an account (its email and role): it is theirs, or they are an admin.
 * Nobody else learns even that it exists.
 */
export const mayReadAccount = (caller: Caller, userId: string): boolean =>
  caller.userId === userId || caller.role === 'ADMIN';

/** One page of accounts, oldest first. */
export interface UserPage {
  users: UserRecord[];
  hasNextPage: boolean;
}

export type Promotion = { outcome: 'promoted' | 'unverified'; user: UserRecord } | { outcome: 'missing' };

export class UserService {
  constructor(private readonly users: UserRepository) {}

  /** One query for many ids, in the order asked, null where missing (for DataLoader). */
  async findByIds(ids: readonly string[]): Promise<(UserRecord | null)[]> {
    const byId = new Map((await this.users.findByIds(ids)).map((user) => [user.id, user]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** The `first` accounts after `after`, oldest first. */
  async list(first: number, after: UserPosition | null): Promise<UserPage> {
    const rows = await this.users.listAfter(first + 1, after);
    return { users: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /**
   * Makes an existing account ADMIN for the command line, and records that an operator set its role
   * (so ADMIN_EMAILS leaves it alone). An unverified account is not promoted unless the operator
   * says they know who holds it: anyone could have registered the address before its owner.
   */
  async promote(email: string, options: { evenUnverified: boolean }): Promise<Promotion> {
    const user = await this.users.findByEmail(normalizeEmail(email));
    if (!user) return { outcome: 'missing' };
    if (!user.emailVerifiedAt && !options.evenUnverified) return { outcome: 'unverified', user };
    const promoted = await this.users.setRole(user.id, 'ADMIN');
    return promoted ? { outcome: 'promoted', user: promoted } : { outcome: 'missing' };
  }
}
