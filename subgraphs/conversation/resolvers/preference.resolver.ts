import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import { MAX_PRESETS } from '../repositories/preference.repository';
import { InstructionsInput, PresetInput } from '../schema/conversation.input';
import { Instructions, Preset } from '../schema/preference.type';
import { User } from '../schema/references';

@Resolver()
export class PreferenceResolver {
  @Query(() => [Preset], { description: 'Your presets, oldest first.' })
  @Directive('@authenticated')
  @ListSizeDirective({ assumedSize: MAX_PRESETS })
  presets(@Ctx() ctx: ConversationContext) {
    return ctx.preferences.presets(ctx.caller);
  }

  @Mutation(() => Instructions, { description: 'Changes your custom instructions.' })
  @Directive('@authenticated')
  updateInstructions(
    @Arg('input', () => InstructionsInput) input: InstructionsInput,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.preferences.updateInstructions(ctx.caller, input);
  }

  @Mutation(() => Preset)
  @Directive('@authenticated')
  createPreset(@Arg('input', () => PresetInput) input: PresetInput, @Ctx() ctx: ConversationContext) {
    return ctx.preferences.createPreset(ctx.caller, input);
  }

  @Mutation(() => Preset, { description: 'Changes a preset; conversations created from it keep their copy.' })
  @Directive('@authenticated')
  updatePreset(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => PresetInput) input: PresetInput,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.preferences.updatePreset(ctx.caller, id, input);
  }

  @Mutation(() => ID, { description: 'Deletes a preset; returns its id.' })
  @Directive('@authenticated')
  deletePreset(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext) {
    return ctx.preferences.deletePreset(ctx.caller, id);
  }
}

@Resolver(() => User)
export class UserInstructionsResolver {
  @FieldResolver(() => Instructions, { description: 'Your custom instructions (only your own).' })
  @Directive('@authenticated')
  instructions(@Root() user: User, @Ctx() ctx: ConversationContext) {
    return ctx.preferences.instructions(ctx.caller, user.id);
  }
}
