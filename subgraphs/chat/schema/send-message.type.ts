import { Field, ObjectType } from 'type-graphql';
import { Conversation, Message } from './references';
import { Generation } from './generation.type';

@ObjectType({ description: 'Your message, stored, and the generation of the reply, started.' })
export class SendMessagePayload {
  @Field(() => Conversation)
  conversation!: Conversation;

  @Field(() => Message)
  userMessage!: Message;

  @Field(() => Generation, { description: 'Subscribe to `generation(id)` for the reply.' })
  generation!: Generation;
}
