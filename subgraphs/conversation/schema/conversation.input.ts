import { Field, Float, InputType, Int } from 'type-graphql';

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
}

@InputType({ description: 'A new conversation.' })
export class CreateConversationInput {
  @Field(() => String, { nullable: true, description: "Defaults to 'New conversation'." })
  title?: string | null;

  @Field(() => ConversationSettingsInput, { nullable: true })
  settings?: ConversationSettingsInput | null;
}
