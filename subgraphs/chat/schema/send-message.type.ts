import { Directive, Field, ObjectType } from 'type-graphql';
import { Conversation, Message } from './references';
import { Generation } from './generation.type';

// Plain fields (see generation-event.type.ts): the first event of Subscription.chat carries one.
@ObjectType({
  description: 'Your message, stored, and the generation of the reply, started.',
  simpleResolvers: true,
})
export class SendMessagePayload {
  // What conversation answered when chat stored the message: the gateway need not ask it again.
  @Field(() => Conversation)
  @Directive('@provides(fields: "title")')
  conversation!: Conversation;

  @Field(() => Message)
  @Directive('@provides(fields: "content")')
  userMessage!: Message;

  @Field(() => Generation, { description: 'Subscribe to `generation(id)` for the reply.' })
  generation!: Generation;
}
