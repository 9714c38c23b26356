import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GenerationEventType } from '../streams/generation-event';
import { Message } from './references';
import { Generation } from './generation.type';
import { SendMessagePayload } from './send-message.type';

registerEnumType(GenerationEventType, {
  name: 'GenerationEventType',
  description: 'What a generation event reports.',
  valuesConfig: {
    START: { description: 'The generation began.' },
    TOKEN: { description: 'More of the reply: `delta`.' },
    USAGE: { description: 'Token counts, now in `generation.usage`.' },
    DONE: { description: 'The reply is complete and saved. Last event.' },
    ERROR: { description: 'The generation failed or was interrupted: `error`. Last event.' },
    STOPPED: { description: 'Stopped on request; the partial reply is saved. Last event.' },
    HEARTBEAT: {
      description:
        'Not part of the reply: the generation is alive but nothing new came for a while. `seq` repeats the last event received; resume with it as before.',
    },
  },
});

/*
 * type-graphql gives every field a resolver of its own that runs the field's middlewares before
 * reading the property. No chat type has middlewares (access is `@authenticated`, enforced by
 * common/identity/authorization.ts, which wraps what it guards), so the types an event reaches
 * leave their fields to graphql-js's default resolver (`simpleResolvers`): that keeps each event's
 * selection one that common/graphql/compiled-events.ts compiles. A field resolver still runs.
 */
@ObjectType({
  description: 'One step of a generation, in order; resume after a drop with `after: <last seq>`.',
  simpleResolvers: true,
})
export class GenerationEvent {
  @Field(() => Int, { description: '1 for START, then one more for each event.' })
  seq!: number;

  @Field(() => GenerationEventType)
  type!: GenerationEventType;

  @Field(() => String, { nullable: true, description: 'TOKEN: the text that follows what came before.' })
  delta!: string | null;

  @Field(() => String, { nullable: true, description: 'ERROR: why.' })
  error!: string | null;

  @Field(() => Generation, { description: 'The generation as of this event (its status never goes back).' })
  generation!: Generation;

  @Field(() => Message, { description: 'The assistant message being written.' })
  message!: Message;

  @Field(() => SendMessagePayload, {
    nullable: true,
    description:
      'On the first event of `Subscription.chat` only: what `sendMessage` would have answered (the stored message, its conversation and the generation).',
  })
  started!: SendMessagePayload | null;
}
