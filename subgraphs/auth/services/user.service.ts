import type { EntityManager } from '@mikro-orm/postgresql';
import { type Connection, checkPageSize, decodeCursor, encodeCursor } from '../../../common/pagination';
import type { Identity } from '../../../common/identity';
import { Role, UserEntity } from '../entities/user.entity';
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
   * Makes existing accounts ADMIN (the command line and ADMIN_EMAILS); returns those found.
   * It never creates an account: registering an email listed here must not make an admin.
   */
  async promote(emails: readonly string[]): Promise<UserEntity[]> {
    if (emails.length === 0) return [];
    const em = this.em.fork();
    const users = await em.find(UserEntity, { email: { $in: emails.map(normalizeEmail) } });
    for (const user of users) user.role = Role.ADMIN;
    await em.flush();
    return users;
  }
}
