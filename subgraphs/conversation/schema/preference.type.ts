import { Field, ID, ObjectType } from 'type-graphql';
import { ConversationSettings } from './conversation.type';

@ObjectType({
  description: 'Your custom instructions, put into every conversation that does not turn them off.',
})
export class Instructions {
  @Field({ description: 'What the assistant should know about you; "" for nothing.' })
  aboutMe!: string;

  @Field({ description: 'How the assistant should answer; "" for nothing.' })
  howToAnswer!: string;
}

@ObjectType({ description: 'A named bundle of settings a conversation can be created from.' })
export class Preset {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => ConversationSettings)
  settings!: ConversationSettings;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}
