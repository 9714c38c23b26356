import { Field, Float, ID, InputType, Int } from 'type-graphql';

@InputType({
  description:
    'Settings to change: an absent field stays as it is, a null one goes back to the deployment default.',
})
export class ConversationSettingsInput {
  @Field(() => String, { nullable: true, description: 'A model id as `models` lists it.' })
  model?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'At most 8000 characters; an empty string means none.',
  })
  systemPrompt?: string | null;

  @Field(() => Float, { nullable: true, description: 'From 0 to 2.' })
  temperature?: number | null;

  @Field(() => Float, { nullable: true, description: 'From 0 to 1.' })
  topP?: number | null;

  @Field(() => Int, { nullable: true, description: "From 1 to the model's output limit." })
  maxOutputTokens?: number | null;

  @Field(() => Boolean, { nullable: true })
  recallEnabled?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  instructionsEnabled?: boolean | null;
}

@InputType({ description: 'A new conversation.' })
export class CreateConversationInput {
  @Field(() => String, { nullable: true, description: "Defaults to 'New conversation'." })
  title?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'One of your presets: its settings are copied, then `settings` changes some of them.',
  })
  presetId?: string | null;

  @Field(() => ConversationSettingsInput, { nullable: true })
  settings?: ConversationSettingsInput | null;
}

@InputType({ description: 'Custom instructions to change: an absent field stays as it is, "" clears it.' })
export class InstructionsInput {
  @Field(() => String, {
    nullable: true,
    description: 'What the assistant should know about you (at most 4000 characters).',
  })
  aboutMe?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'How the assistant should answer (at most 4000 characters).',
  })
  howToAnswer?: string | null;
}

@InputType({ description: 'A preset to create or change: an absent field stays as it is.' })
export class PresetInput {
  @Field(() => String, { nullable: true, description: '1 to 100 characters; required to create one.' })
  name?: string | null;

  @Field(() => ConversationSettingsInput, { nullable: true })
  settings?: ConversationSettingsInput | null;
}
