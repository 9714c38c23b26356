import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import { ConversationConnection } from '../schema/connections';
import { User } from '../schema/user';

@Resolver(() => User)
export class UserConversationsResolver {
  @FieldResolver(() => ConversationConnection, {
    description: 'Your conversations, most recently active first.',
  })
  @ListSizeDirective({ slicingArguments: ['first'], sizedFields: ['edges'] })
  conversations(
    @Root() user: User,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.list(ctx.viewer, user.id, first, after);
  }
}
