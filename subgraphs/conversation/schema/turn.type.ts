import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import { MAX_PAGE_SIZE } from '../../../common/graphql/pagination';
import { MAX_MEMORIES } from '../repositories/memory.repository';
import { ConversationSettings } from './conversation.type';
import { Memory } from './memory.type';
import { Message } from './message.type';
import { Instructions } from './preference.type';
import { SearchHit } from './search.type';

@ObjectType({ description: "Internal (chat subgraph): everything one reply's prompt is built from." })
@Directive('@inaccessible')
export class TurnContext {
  @Field(() => ID, { nullable: true, description: 'The conversation; null for a first message.' })
  conversationId!: string | null;

  @Field(() => ConversationSettings)
  settings!: ConversationSettings;

  @Field(() => Instructions, {
    nullable: true,
    description: "The owner's custom instructions; null when the conversation turns them off.",
  })
  instructions!: Instructions | null;

  @Field(() => [Memory], { description: "The owner's memories, newest first." })
  @ListSizeDirective({ assumedSize: MAX_MEMORIES })
  memories!: Memory[];

  @Field({ description: "The owner's switch for recall from their other conversations." })
  recallEnabled!: boolean;

  @Field(() => [Message], {
    description: 'The branch from the root to the leaf, oldest first, at most the newest `historyLimit`.',
  })
  @ListSizeDirective({ assumedSize: MAX_PAGE_SIZE })
  history!: Message[];
}

@ObjectType({ description: "Internal (chat subgraph): a user's message and the reply stored under it." })
@Directive('@inaccessible')
export class AppendedTurn {
  @Field(() => Message)
  userMessage!: Message;

  @Field(() => Message, { description: 'STREAMING, empty: the reply the model is about to write.' })
  reply!: Message;

  @Field(() => TurnContext, {
    nullable: true,
    description:
      "What the reply's prompt is built from, as `turnContext` answers it: only when `appendTurn` is asked `withContext` (a first message's, read beside the write; a follow-up's, read once it is written, its history ending at the user's message), else null.",
  })
  context!: TurnContext | null;

  @Field(() => [SearchHit], {
    nullable: true,
    description:
      "The owner's messages from other conversations closest in meaning to the user's message, as `recallMessages` finds them, searched beside the write: only when `appendTurn` is asked to `recall`, else null. Empty when the owner turned recall off, or when the search failed or outlasted its budget.",
  })
  @ListSizeDirective({ assumedSize: MAX_PAGE_SIZE })
  recalled!: SearchHit[] | null;
}
