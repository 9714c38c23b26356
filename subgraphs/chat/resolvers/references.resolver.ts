import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ChatContext } from '../context';
import { Conversation, Message, User } from '../schema/references';
import { Generation } from '../schema/generation.type';
import { Usage } from '../schema/usage.type';
import { toGeneration, toUsage } from './views';

@Resolver(() => Message)
export class MessageGenerationResolver {
  @FieldResolver(() => Generation, {
    nullable: true,
    description: `The generation that wrote this reply, while its record is kept (GENERATION_RETENTION_DAYS).`,
  })
  async generation(@Root() message: Message, @Ctx() ctx: ChatContext): Promise<Generation | null> {
    const generation = await ctx.generations.forMessage(ctx.caller, message.id);
    return generation && toGeneration(generation);
  }
}

@Resolver(() => Conversation)
export class ConversationGenerationResolver {
  @FieldResolver(() => Generation, { nullable: true, description: 'The reply being written, if any.' })
  async activeGeneration(
    @Root() conversation: Conversation,
    @Ctx() ctx: ChatContext,
  ): Promise<Generation | null> {
    const generation = await ctx.generations.activeInConversation(ctx.caller, conversation.id);
    return generation && toGeneration(generation);
  }
}

@Resolver(() => User)
export class UserUsageResolver {
  @FieldResolver(() => Usage, {
    description: 'Tokens used, per day and in total, and the limits (yours only).',
  })
  @ListSizeDirective({ slicingArguments: ['days'], sizedFields: ['daily'] })
  async usage(
    @Root() user: User,
    @Arg('days', () => Int, { defaultValue: 7 }) days: number,
    @Ctx() ctx: ChatContext,
  ): Promise<Usage> {
    return toUsage(await ctx.usage.report(ctx.caller, user.id, days));
  }
}

/** `_entities`: the stubs resolve to themselves (chat adds fields, keeps no data of them); a
 * Generation resolves only for its owner. */
export const referenceResolvers = {
  Message: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  Conversation: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  User: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  Generation: {
    __resolveReference: async (reference: { id: string }, ctx: ChatContext) => {
      const generation = await ctx.generations.findOwned(ctx.caller, reference.id);
      return generation && toGeneration(generation);
    },
  },
};
