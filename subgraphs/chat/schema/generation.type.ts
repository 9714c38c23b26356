import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import { MAX_MEMORIES_IN_PROMPT, MAX_RECALL_LIMIT } from '../config';
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

@ObjectType({
  description: 'Tokens a generation used: the provider’s counts, or estimates.',
  simpleResolvers: true,
})
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

@ObjectType({
  description: 'Your custom instructions as they were put into the prompt.',
  simpleResolvers: true,
})
export class UsedInstructions {
  @Field({ description: '"" when it was empty.' })
  aboutMe!: string;

  @Field({ description: '"" when it was empty.' })
  howToAnswer!: string;
}

@ObjectType({
  description: 'One of your memories as it was put into the prompt (a snapshot: it stays if you forget it).',
  simpleResolvers: true,
})
export class UsedMemory {
  @Field(() => ID, { description: 'The memory (`User.memories`); it may have been forgotten since.' })
  id!: string;

  @Field({ description: 'The text as it was sent.' })
  text!: string;
}

@ObjectType({
  description: 'A message from another of your conversations that was put into the prompt.',
  simpleResolvers: true,
})
export class RecalledMessage {
  @Field(() => Float, { description: 'How similar it is to your message (higher is closer).' })
  score!: number;

  @Field(() => Message)
  message!: Message;

  @Field(() => Conversation)
  conversation!: Conversation;
}

@ObjectType({
  description: 'What a generation put into its prompt, as a snapshot taken when it was built.',
  simpleResolvers: true,
})
export class GenerationContext {
  @Field(() => UsedInstructions, { nullable: true, description: 'Null when no instructions were used.' })
  instructions!: UsedInstructions | null;

  @Field(() => [UsedMemory], { description: 'Newest first.' })
  @ListSizeDirective({ assumedSize: MAX_MEMORIES_IN_PROMPT })
  memories!: UsedMemory[];

  @Field(() => [RecalledMessage], {
    description: 'Messages from your other conversations that were given to the model with the prompt.',
  })
  @ListSizeDirective({ assumedSize: MAX_RECALL_LIMIT })
  recalled!: RecalledMessage[];
}

@ObjectType({ description: 'One run of a model producing an assistant message.', simpleResolvers: true })
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

  @Field(() => GenerationContext, {
    description:
      'Exactly what was put into the prompt besides the conversation itself: your instructions, memories and recalled messages. Empty until the prompt is built.',
  })
  context!: GenerationContext;
}
