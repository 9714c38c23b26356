import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type Connection,
  checkPageSize,
  decodeCursor,
  encodeCursor,
} from '../../../common/graphql/pagination';
import type { Identity } from '../../../common/identity/identity';
import { Role, UserEntity } from '../store/entities/user.entity';
import { normalizeEmail } from './account-input';

/** Users are listed oldest first; the cursor is the last row's position in that order. */
interface UserCursor {
  createdAt: string;
  id: string;
}

const isUserCursor = (value: unknown): value is UserCursor =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as UserCursor).createdAt === 'string' &&
  typeof (value as UserCursor).id === 'string';

/**
 * Whether the caller may read an account (its email and role): it is theirs, or they are an admin.
 * Nobody else learns even that it exists.
 */
export const mayReadAccount = (caller: Identity, userId: string): boolean =>
  caller.userId === userId || caller.role === 'ADMIN';

export class UserService {
  constructor(private readonly em: EntityManager) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.em.fork().findOne(UserEntity, { id });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.em.fork().findOne(UserEntity, { email: normalizeEmail(email) });
  }

  /** One query for many ids, in the order asked, null where missing (for DataLoader). */
  async findByIds(ids: readonly string[]): Promise<(UserEntity | null)[]> {
    const users = await this.em.fork().find(UserEntity, { id: { $in: [...ids] } });
    const byId = new Map(users.map((user) => [user.id, user]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async list(first: number, after: string | null): Promise<Connection<UserEntity>> {
    checkPageSize(first, 'first');
    const cursor = after === null ? null : decodeCursor(after, 'after', isUserCursor);
    const position = cursor ? new Date(cursor.createdAt) : null;
    const rows = await this.em
      .fork()
      .find(
        UserEntity,
        cursor && position
          ? { $or: [{ createdAt: { $gt: position } }, { createdAt: position, id: { $gt: cursor.id } }] }
          : {},
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit: first + 1 },
      );
    const page = rows.slice(0, first);
    const edges = page.map((user) => ({
      node: user,
      cursor: encodeCursor({ createdAt: user.createdAt.toISOString(), id: user.id } satisfies UserCursor),
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: cursor !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /**
   * Makes an existing account ADMIN for the command line, and records that an operator set its role
   * (so ADMIN_EMAILS leaves it alone). An unverified account is not promoted unless the operator
   * says they know who holds it: anyone could have registered the address before its owner.
   */
  async promote(email: string, options: { evenUnverified: boolean }): Promise<Promotion> {
    const em = this.em.fork();
    const user = await em.findOne(UserEntity, { email: normalizeEmail(email) });
    if (!user) return { outcome: 'missing' };
    if (!user.emailVerifiedAt && !options.evenUnverified) return { outcome: 'unverified', user };
    user.role = Role.ADMIN;
    user.roleSetAt = new Date();
    await em.flush();
    return { outcome: 'promoted', user };
  }
}

export type Promotion = { outcome: 'promoted' | 'unverified'; user: UserEntity } | { outcome: 'missing' };
