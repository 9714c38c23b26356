import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { forbidden } from '../../../common/errors';
import { checkPageSize, decodeCursor } from '../../../common/pagination';
import type { ConversationContext } from '../context';
import { ConversationConnection } from '../schema/connections';
import { User } from '../schema/user';
import { isConversationCursor } from '../services/conversation.service';
import { requireUser } from './conversation.resolver';

@Resolver(() => User)
export class UserConversationsResolver {
  @FieldResolver(() => ConversationConnection, {
    description: 'Your conversations, most recently active first.',
  })
  conversations(
    @Root() user: User,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ConversationContext,
  ) {
    if (requireUser(ctx) !== user.id) throw forbidden('You can only list your own conversations');
    checkPageSize(first, 'first');
    const cursor = after === null ? null : decodeCursor(after, 'after', isConversationCursor);
    return ctx.conversations.listForOwner(user.id, first, cursor);
  }
}

export const userReferenceResolver = {
  User: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
};
