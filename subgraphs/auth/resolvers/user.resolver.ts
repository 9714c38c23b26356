import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { forbidden, unauthenticated } from '../../../common/errors/errors';
import {
  buildConnection,
  checkPageSize,
  decodeCursor,
  encodeCursor,
} from '../../../common/graphql/pagination';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import { RequiresRole } from '../../../common/identity/authorization';
import { requireUser } from '../../../common/identity/caller';
import type { Role } from '../../../common/identity/roles';
import { isUuid } from '../../../common/util/ids';
import type { AuthContext } from '../context';
import type { UserRecord } from '../records/user.record';
import { RoleEnum, User, UserConnection } from '../schema/user.type';
import { mayReadAccount } from '../services/user.service';

/** A `users` cursor: the last row's place in the order (oldest first, the id breaking ties). */
interface UserCursor {
  createdAt: string;
  id: string;
}

const isUserCursor = (value: unknown): value is UserCursor =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as UserCursor).createdAt === 'string' &&
  typeof (value as UserCursor).id === 'string';

const cursorOf = (user: UserRecord): string =>
  encodeCursor({ createdAt: user.createdAt.toISOString(), id: user.id } satisfies UserCursor);

/**
 * The account, for its private fields: only its owner (or the one this request signed in) and
 * admins may read them, whichever path led to the account.
 */
function readable({ caller, signedIn }: AuthContext, user: UserRecord): UserRecord {
  if (signedIn.has(user) || mayReadAccount(caller, user.id)) return user;
  throw forbidden();
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  @Directive('@authenticated')
  async me(@Ctx() { caller, userById }: AuthContext): Promise<UserRecord> {
    const user = await userById.load(requireUser(caller).userId);
    if (!user) throw unauthenticated();
    return user;
  }

  @Query(() => UserConnection, { description: 'Every account, oldest first. Admins only.' })
  @RequiresRole('ADMIN')
  @ListSizeDirective({ slicingArguments: ['first'], sizedFields: ['edges'] })
  async users(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() { services }: AuthContext,
  ) {
    checkPageSize(first, 'first');
    const cursor = after == null ? null : decodeCursor(after, 'after', isUserCursor);
    const position = cursor && { createdAt: new Date(cursor.createdAt), id: cursor.id };
    const page = await services.users.list(first, position);
    return buildConnection(page.users, cursorOf, {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: cursor !== null,
    });
  }

  @Mutation(() => User, {
    description: "Changes another user's role. Demoting signs them out everywhere. Admins only.",
  })
  @RequiresRole('ADMIN')
  setUserRole(
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => RoleEnum) role: Role,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<UserRecord> {
    return services.roles.setRole(caller, userId, role);
  }

  @FieldResolver(() => String)
  email(@Root() user: UserRecord, @Ctx() ctx: AuthContext): string {
    return readable(ctx, user).email;
  }

  @FieldResolver(() => RoleEnum)
  role(@Root() user: UserRecord, @Ctx() ctx: AuthContext): Role {
    return readable(ctx, user).role;
  }

  @FieldResolver(() => Boolean)
  emailVerified(@Root() user: UserRecord, @Ctx() ctx: AuthContext): boolean {
    return readable(ctx, user).emailVerifiedAt !== null;
  }
}

/** `_entities`: the caller's own account, or any for an admin; anyone else's is null, like a missing one. */
export const userReferenceResolver = {
  User: {
    __resolveReference: (reference: { id: string }, { caller, userById }: AuthContext) =>
      isUuid(reference.id) && mayReadAccount(caller, reference.id) ? userById.load(reference.id) : null,
  },
};
