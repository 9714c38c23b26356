import { Arg, Ctx, Directive, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { callerId } from '../../../common/authorization';
import { unauthenticated } from '../../../common/errors';
import { isUuid } from '../../../common/ids';
import { ListSizeDirective } from '../../../common/list-size';
import type { AuthContext } from '../context';
import { Role } from '../entities/user.entity';
import { UserConnection } from '../schema/connections';
import { User } from '../schema/user';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  @Directive('@authenticated')
  async me(@Ctx() { identity, userById }: AuthContext): Promise<User> {
    const user = await userById.load(callerId(identity));
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
    @Ctx() { identity, services }: AuthContext,
  ): Promise<User> {
    return services.roles.setRole(identity, userId, role);
  }
}

export const userReferenceResolver = {
  User: {
    __resolveReference: (reference: { id: string }, { userById }: AuthContext) =>
      isUuid(reference.id) ? userById.load(reference.id) : null,
  },
};
