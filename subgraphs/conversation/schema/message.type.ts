import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../../common/graphql/pagination';
import { MessageRole, MessageStatus } from '../records/message.record';

registerEnumType(MessageRole, { name: 'MessageRole', description: 'Who wrote a message.' });
registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: 'Whether a message is whole; only an assistant reply is ever anything but COMPLETE.',
  valuesConfig: {
    COMPLETE: { description: 'Written in full.' },
    STREAMING: { description: 'A model is still writing it.' },
    STOPPED: { description: 'Stopped on request before the model finished.' },
    INTERRUPTED: { description: 'Cut short by a failure of the platform (e.g. a restart).' },
    FAILED: { description: 'The model failed; the content holds what came before.' },
  },
});

@ObjectType({
  description:
    'One message of a conversation. Messages form a tree: an edited or regenerated message is a sibling of the one it replaces.',
})
@Directive('@key(fields: "id")')
export class Message {
  @Field(() => ID)
  id!: string;

  @Field(() => MessageRole)
  role!: MessageRole;

  // Shareable: chat provides it where it just stored a message (SendMessagePayload).
  @Field()
  @Directive('@shareable')
  content!: string;

  @Field(() => MessageStatus)
  status!: MessageStatus;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  @Field(() => Int, { nullable: true, description: 'Tokens of the prompt that produced this reply.' })
  promptTokens!: number | null;

  @Field(() => Int, { nullable: true, description: 'Tokens of this reply.' })
  completionTokens!: number | null;

  @Field(() => String, { nullable: true, description: 'The model that wrote this reply.' })
  model!: string | null;
}

export const MessageConnection = ConnectionType('Message', Message);
