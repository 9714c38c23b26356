import { Ctx, Query, Resolver } from 'type-graphql';
import { unauthenticated } from '../../../common/errors';
import { isUuid } from '../../../common/ids';
import type { AuthContext } from '../context';
import { User } from '../schema/user';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  async me(@Ctx() { identity, userById }: AuthContext): Promise<User> {
    if (!identity.userId) throw unauthenticated();
    const user = await userById.load(identity.userId);
    if (!user) throw unauthenticated();
    return user;
  }
}

export const userReferenceResolver = {
  User: {
    __resolveReference: (reference: { id: string }, { userById }: AuthContext) =>
      isUuid(reference.id) ? userById.load(reference.id) : null,
  },
};
