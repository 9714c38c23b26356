import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import { MAX_RECALL_LIMIT } from '../config';
import { GenerationStatus } from '../records/generation.record';
import { Conversation, Message } from './references';
import { Provider } from './model.type';

registerEnumType(GenerationStatus, {
  name: 'GenerationStatus',
  description: 'Where a generation is; every status but STREAMING is final.',
  valuesConfig: {
    STREAMING: { description: 'The model is writing.' },
    COMPLETE: { description: 'The model finished its reply.' },
    STOPPED: { description: 'Stopped on request; the partial reply is saved.' },
    INTERRUPTED: {
      description: 'The platform failed mid-reply (a crash or shutdown); the partial reply is saved.',
    },
    FAILED: { description: 'The model provider failed; `error` says why.' },
  },
});

@ObjectType({ description: 'Tokens a generation used: the provider’s counts, or estimates.' })
export class TokenUsage {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field({ description: 'True when the provider reported no counts and they were estimated from the text.' })
  estimated!: boolean;
}

@ObjectType({ description: 'A message from another of your conversations that was put into the prompt.' })
export class RecalledMessage {
  @Field(() => Float, { description: 'How similar it is to your message (higher is closer).' })
  score!: number;

  @Field(() => Message)
  message!: Message;

  @Field(() => Conversation)
  conversation!: Conversation;
}

@ObjectType({ description: 'One run of a model producing an assistant message.' })
@Directive('@key(fields: "id")')
export class Generation {
  @Field(() => ID)
  id!: string;

  @Field(() => GenerationStatus)
  status!: GenerationStatus;

  @Field({ description: 'The model that produced it.' })
  model!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => Message, { description: 'The assistant message it writes.' })
  message!: Message;

  @Field(() => Conversation)
  conversation!: Conversation;

  @Field()
  startedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the first token arrived.' })
  firstTokenAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => TokenUsage, { nullable: true, description: 'Known once it has ended.' })
  usage!: TokenUsage | null;

  @Field(() => String, { nullable: true, description: 'Why it FAILED or was INTERRUPTED.' })
  error!: string | null;

  @Field(() => [RecalledMessage], {
    description: 'Messages from your other conversations that were given to the model with the prompt.',
  })
  @ListSizeDirective({ assumedSize: MAX_RECALL_LIMIT })
  context!: RecalledMessage[];
}
