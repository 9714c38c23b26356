import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { unauthenticated } from '../../../common/errors';
import type { BaseContext } from '../../../common/subgraph-server';
import type { ConversationContext } from '../context';
import { Conversation } from '../schema/conversation';

export const requireUser = ({ identity }: BaseContext): string => {
  if (!identity.userId) throw unauthenticated();
  return identity.userId;
};

@Resolver(() => Conversation)
export class ConversationResolver {
  @Query(() => Conversation, { description: 'One of your conversations.' })
  conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext): Promise<Conversation> {
    return ctx.conversations.getOwned(requireUser(ctx), id);
  }

  @Mutation(() => Conversation, { description: 'Starts an empty conversation.' })
  createConversation(
    @Arg('title', () => String, { nullable: true }) title: string | null,
    @Ctx() ctx: ConversationContext,
  ): Promise<Conversation> {
    return ctx.conversations.create(requireUser(ctx), title);
  }
}

export const conversationReferenceResolver = {
  Conversation: {
    /** Entity fetches obey ownership too: a foreign or missing conversation resolves to null. */
    __resolveReference: (reference: { id: string }, ctx: ConversationContext) =>
      ctx.identity.userId
        ? ctx.conversations.getOwned(ctx.identity.userId, reference.id).catch(() => null)
        : null,
  },
};
