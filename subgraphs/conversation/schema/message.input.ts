import { Directive, Field, ID, InputType, Int } from 'type-graphql';
import { MessageRole, MessageStatus } from '../records/message.record';
import { MAX_RECALL_BUDGET_MS } from '../../../common/records/turn-recall.record';

/** Where a new message goes: the fields every internal append shares (never an argument itself). */
@InputType()
abstract class MessagePlacement {
  @Field(() => ID, {
    nullable: true,
    description: 'The conversation; null creates a new one (default title) owned by the acting user.',
  })
  conversationId!: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The parent; null means the conversation's active leaf (or a root if it is empty). A parent with other children makes a sibling branch.",
  })
  parentId!: string | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'A new root beside the first message (an edited first message); parentId must then be null.',
  })
  asRoot!: boolean | null;
}

@InputType({ description: 'Internal (chat subgraph): a message to add to a conversation.' })
@Directive('@inaccessible')
export class AppendMessageInput extends MessagePlacement {
  @Field(() => MessageRole)
  role!: MessageRole;

  @Field()
  content!: string;

  @Field(() => MessageStatus, { nullable: true, defaultValue: MessageStatus.COMPLETE })
  status!: MessageStatus | null;

  @Field(() => String, { nullable: true })
  model!: string | null;
}

@InputType({
  description:
    "Internal (chat subgraph): a user's message and the reply to be written under it, stored together.",
})
@Directive('@inaccessible')
export class AppendTurnInput extends MessagePlacement {
  @Field({ description: "The user's message." })
  content!: string;

  @Field({ description: 'The model that writes the reply (stored on the STREAMING reply).' })
  replyModel!: string;
}

@InputType({
  description:
    "Internal (chat subgraph): a recall from the owner's other conversations, searched by the turn's message beside the turn's write and answered with it.",
})
@Directive('@inaccessible')
export class TurnRecallInput {
  @Field(() => Int, { description: 'At most this many messages.' })
  first!: number;

  @Field(() => Int, {
    description: `The longest the answer waits for the search, in milliseconds from when the subgraph takes the turn (at most ${MAX_RECALL_BUDGET_MS}): a search still running then, or failing, leaves the turn without recall.`,
  })
  budgetMs!: number;
}

@InputType({ description: "Internal (chat subgraph): a streaming message's checkpoint or final state." })
@Directive('@inaccessible')
export class UpdateMessageInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  content!: string | null;

  @Field(() => MessageStatus, { nullable: true })
  status!: MessageStatus | null;

  @Field(() => Int, { nullable: true })
  promptTokens!: number | null;

  @Field(() => Int, { nullable: true })
  completionTokens!: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Names the message's conversation, if nobody has yet (its title is still 'New conversation'): a title its owner gave is kept.",
  })
  conversationTitle!: string | null;
}
