import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { callerId } from '../../../common/identity/authorization';
import { forbidden, unauthenticated } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { AuthContext } from '../context';
import { Role, type UserEntity } from '../store/entities/user.entity';
import { UserConnection } from '../schema/user.type';
import { User } from '../schema/user.type';
import { mayReadAccount } from '../services/user.service';

/**
 * The account, for its private fields: only its owner (or the one this request signed in) and
 * admins may read them, whichever path led to the account.
 */
function readable({ caller, signedIn }: AuthContext, user: UserEntity): UserEntity {
  if (signedIn.has(user) || mayReadAccount(caller, user.id)) return user;
  throw forbidden();
}

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  @Directive('@authenticated')
  async me(@Ctx() { caller, userById }: AuthContext): Promise<User> {
    const user = await userById.load(callerId(caller));
    if (!user) throw unauthenticated();
    return user;
  }

  @Query(() => UserConnection, { description: 'Every account, oldest first. Admins only.' })
  @Directive('@requiresRole(role: "ADMIN")')
  @ListSizeDirective({ slicingArguments: ['first'], sizedFields: ['edges'] })
  users(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() { services }: AuthContext,
  ) {
    return services.users.list(first, after ?? null);
  }

  @Mutation(() => User, {
    description: "Changes another user's role. Demoting signs them out everywhere. Admins only.",
  })
  @Directive('@requiresRole(role: "ADMIN")')
  setUserRole(
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => Role) role: Role,
    @Ctx() { caller, services }: AuthContext,
  ): Promise<User> {
    return services.roles.setRole(caller, userId, role);
  }

  @FieldResolver(() => String)
  email(@Root() user: UserEntity, @Ctx() ctx: AuthContext): string {
    return readable(ctx, user).email;
  }

  @FieldResolver(() => Role)
  role(@Root() user: UserEntity, @Ctx() ctx: AuthContext): Role {
    return readable(ctx, user).role;
  }

  @FieldResolver(() => Boolean)
  emailVerified(@Root() user: UserEntity, @Ctx() ctx: AuthContext): boolean {
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
