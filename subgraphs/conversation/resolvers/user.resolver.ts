import { Arg, Ctx, Directive, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import { ConversationConnection } from '../schema/conversation.type';
import { User } from '../schema/references';

/** A user is anyone the auth subgraph names; this subgraph only adds their conversations. */
export const userReference = {
  __resolveReference: (reference: { id: string }) => ({ id: reference.id }),
};

@Resolver(() => User)
export class UserConversationsResolver {
  @FieldResolver(() => ConversationConnection, {
    description: 'Your conversations, most recently active first.',
  })
  @Directive('@authenticated')
  @ListSizeDirective({ slicingArguments: ['first'], sizedFields: ['edges'] })
  conversations(
    @Root() user: User,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.list(ctx.caller, user.id, first, after);
  }
}
