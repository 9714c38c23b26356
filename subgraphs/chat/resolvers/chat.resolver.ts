import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ChatContext } from '../context';
import type { StartedGeneration } from '../services/chat.service';
import { Generation } from '../schema/generation.type';
import { SendMessageInput } from '../schema/send-message.input';
import { SendMessagePayload } from '../schema/send-message.type';
import { toGeneration } from './generation.resolver';

/** What sendMessage answers; also the first event of `Subscription.chat` (its `started`). */
export const toSendMessagePayload = (started: StartedGeneration): SendMessagePayload => ({
  conversation: { id: started.conversationId, title: started.userMessage.conversation.title },
  userMessage: { id: started.userMessage.id, content: started.userMessage.content },
  generation: toGeneration(started.generation),
});

@Resolver()
export class ChatResolver {
  @Mutation(() => SendMessagePayload, {
    description:
      'Stores your message and starts the reply; answers at once. Follow the reply with `Subscription.generation`.',
  })
  @Directive('@authenticated')
  async sendMessage(
    @Arg('input', () => SendMessageInput) input: SendMessageInput,
    @Ctx() ctx: ChatContext,
  ): Promise<SendMessagePayload> {
    return toSendMessagePayload(await ctx.chat.send(ctx.caller, input));
  }

  @Mutation(() => Generation, {
    description: 'A new reply beside this one (or to this message of yours), as a new branch.',
  })
  @Directive('@authenticated')
  async regenerate(
    @Arg('messageId', () => ID) messageId: string,
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Ctx() ctx: ChatContext,
  ): Promise<Generation> {
    return toGeneration(await ctx.chat.regenerate(ctx.caller, messageId, model));
  }

  @Mutation(() => SendMessagePayload, {
    description: 'Your message rewritten, as a new branch beside the original, and a reply to it.',
  })
  @Directive('@authenticated')
  async editMessage(
    @Arg('messageId', () => ID) messageId: string,
    @Arg('content') content: string,
    @Ctx() ctx: ChatContext,
  ): Promise<SendMessagePayload> {
    return toSendMessagePayload(await ctx.chat.edit(ctx.caller, messageId, content));
  }

  @Mutation(() => Generation, {
    description: 'Stops a generation (from any replica) and saves the reply so far as STOPPED.',
  })
  @Directive('@authenticated')
  async stopGeneration(@Arg('id', () => ID) id: string, @Ctx() ctx: ChatContext): Promise<Generation> {
    return toGeneration(await ctx.generations.stop(ctx.caller, id));
  }

  @Query(() => Generation, { description: 'One of your generations.' })
  @Directive('@authenticated')
  async generation(@Arg('id', () => ID) id: string, @Ctx() ctx: ChatContext): Promise<Generation> {
    return toGeneration(await ctx.generations.get(ctx.caller, id));
  }
}
