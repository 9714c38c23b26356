import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'A message to send, and where.' })
export class SendMessageInput {
  @Field(() => ID, { nullable: true, description: 'The conversation; omit it to start a new one.' })
  conversationId?: string | null;

  @Field()
  content!: string;

  @Field(() => ID, {
    nullable: true,
    description: "Reply to this message instead of the conversation's latest: starts a new branch.",
  })
  parentMessageId?: string | null;

  @Field(() => String, { nullable: true, description: 'One of `models`; the default model when omitted.' })
  model?: string | null;
}
