import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import { MAX_MEMORIES } from '../repositories/memory.repository';
import { Memory } from '../schema/memory.type';
import { User } from '../schema/references';

@Resolver()
export class MemoryResolver {
  @Mutation(() => Memory, {
    description: 'Asks the assistant to remember `text` (trimmed) in every conversation.',
  })
  @Directive('@authenticated')
  remember(@Arg('text', () => String) text: string, @Ctx() ctx: ConversationContext) {
    return ctx.memories.remember(ctx.caller, text);
  }

  @Mutation(() => ID, { description: 'Forgets a memory: it is never sent to a model again. Returns its id.' })
  @Directive('@authenticated')
  forgetMemory(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext) {
    return ctx.memories.forget(ctx.caller, id);
  }

  @Mutation(() => Boolean, {
    description: 'Turns recall from your other conversations on or off for all your conversations.',
  })
  @Directive('@authenticated')
  setRecallEnabled(@Arg('enabled', () => Boolean) enabled: boolean, @Ctx() ctx: ConversationContext) {
    return ctx.memories.setRecallEnabled(ctx.caller, enabled);
  }
}

@Resolver(() => User)
export class UserMemoryResolver {
  @FieldResolver(() => [Memory], { description: 'What you asked the assistant to remember, newest first.' })
  @Directive('@authenticated')
  @ListSizeDirective({ assumedSize: MAX_MEMORIES })
  memories(@Root() user: User, @Ctx() ctx: ConversationContext) {
    return ctx.memories.memories(ctx.caller, user.id);
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether replies may draw on your other conversations (a conversation can also turn it off for itself).',
  })
  @Directive('@authenticated')
  recallEnabled(@Root() user: User, @Ctx() ctx: ConversationContext) {
    return ctx.memories.recallEnabled(ctx.caller, user.id);
  }
}
