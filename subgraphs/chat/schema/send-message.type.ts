import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Conversation, Message } from './references';
import { Generation } from './generation.type';

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

@ObjectType({ description: 'Your message, stored, and the generation of the reply, started.' })
export class SendMessagePayload {
  @Field(() => Conversation)
  conversation!: Conversation;

  @Field(() => Message)
  userMessage!: Message;

  @Field(() => Generation, { description: 'Subscribe to `generation(id)` for the reply.' })
  generation!: Generation;
}
