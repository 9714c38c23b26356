import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import type { MessageRecord } from '../records/message.record';
import { Conversation } from '../schema/conversation.type';
import { Message } from '../schema/message.type';
import { MAX_SIBLINGS } from '../services/loaders';

/** Entity fetches (`_entities`): a foreign or missing message resolves to null, batched per request. */
export const messageReference = {
  __resolveReference: (reference: { id: string }, ctx: ConversationContext) =>
    ctx.messages.visible(reference.id),
};

@Resolver(() => Message)
export class MessageResolver {
  @FieldResolver(() => Conversation)
  conversation(@Root() message: MessageRecord, @Ctx() ctx: ConversationContext) {
    return ctx.conversations.visible(message.conversationId);
  }

  @FieldResolver(() => Message, {
    nullable: true,
    description: 'The message this one answers; null for the first.',
  })
  parent(@Root() message: MessageRecord, @Ctx() ctx: ConversationContext) {
    return message.parentId ? ctx.messages.visible(message.parentId) : null;
  }

  @FieldResolver(() => [Message], {
    description: `Every version of this message (the same parent), this one included, oldest first: the branches a client can switch between. At most ${MAX_SIBLINGS}.`,
  })
  @ListSizeDirective({ assumedSize: MAX_SIBLINGS })
  siblings(@Root() message: MessageRecord, @Ctx() ctx: ConversationContext) {
    return ctx.messages.siblings(message);
  }
}
