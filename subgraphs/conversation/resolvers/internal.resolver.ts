import { Arg, Ctx, Directive, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import { MAX_PAGE_SIZE } from '../../../common/graphql/pagination';
import type { ConversationContext } from '../context';
import {
  AppendMessageInput,
  AppendTurnInput,
  TurnRecallInput,
  UpdateMessageInput,
} from '../schema/message.input';
import { Message } from '../schema/message.type';
import { SearchHit } from '../schema/search.type';
import { AppendedTurn, TurnContext } from '../schema/turn.type';

/**
 * Operations for the chat subgraph, which calls this subgraph directly with a signed service
 * identity. `@inaccessible` keeps them out of the gateway's API; the services refuse any other
 * caller. The contract is in docs/conversation.md#internal-operations.
 */
@Resolver()
export class InternalResolver {
  @Mutation(() => Message, { description: 'Internal: adds a message as the active leaf.' })
  @Directive('@inaccessible')
  appendMessage(
    @Arg('input', () => AppendMessageInput) input: AppendMessageInput,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.messages.append(ctx.caller, input);
  }

  @Mutation(() => AppendedTurn, {
    description:
      "Internal: the user's message as the active leaf and the STREAMING reply under it, in one transaction.",
  })
  @Directive('@inaccessible')
  appendTurn(
    @Arg('input', () => AppendTurnInput) input: AppendTurnInput,
    @Arg('withContext', {
      defaultValue: false,
      description:
        "Also read the turn's context (`AppendedTurn.context`) in this one request: for a first message (no `conversationId`, `parentId` or `asRoot`) beside the write; for a follow-up (a `conversationId` alone, with `expectedSettings`) once it is written, its history ending at the user's message.",
    })
    withContext: boolean,
    @Arg('recall', () => TurnRecallInput, {
      nullable: true,
      description:
        "Also recall from the owner's other conversations by the user's message, searched beside the write (`AppendedTurn.recalled`).",
    })
    recall: TurnRecallInput | null | undefined,
    @Arg('expectedSettings', () => String, {
      nullable: true,
      description:
        "The conversation's settings as the reply was planned with (chat's `settingsKey`; required for a follow-up withContext): a turn in an existing conversation is written only while they are still those, else BAD_USER_INPUT on `expectedSettings` and nothing written.",
    })
    expectedSettings: string | null | undefined,
    @Arg('historyLimit', () => Int, {
      defaultValue: 50,
      description: "A follow-up's: the most messages of the context's history.",
    })
    historyLimit: number,
    @Ctx() ctx: ConversationContext,
  ) {
    const { replyModel, ...message } = input;
    if (!withContext) {
      return ctx.turns.append(ctx.caller, message, replyModel, recall ?? null, expectedSettings ?? null);
    }
    return message.conversationId == null
      ? ctx.turns.appendFirst(ctx.caller, message, replyModel, recall ?? null)
      : ctx.turns.appendFollowUp(ctx.caller, message, replyModel, recall ?? null, {
          expectedSettings: expectedSettings ?? null,
          historyLimit,
        });
  }

  @Mutation(() => Message, { description: "Internal: a streaming message's checkpoint or final state." })
  @Directive('@inaccessible')
  updateMessage(
    @Arg('input', () => UpdateMessageInput) input: UpdateMessageInput,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.messages.update(ctx.caller, input);
  }

  @Mutation(() => Message, {
    description:
      'Internal (chat recovery, for no user): a STREAMING reply whose generation is lost ends as INTERRUPTED, with the content it has; a final message is left as it is.',
  })
  @Directive('@inaccessible')
  interruptMessage(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext) {
    return ctx.messages.interrupt(ctx.caller, id);
  }

  @Query(() => TurnContext, {
    description:
      "Internal: what one reply's prompt is built from, in one read: the conversation's settings (the defaults for a first message), the owner's instructions, memories and recall switch, and the history up to `leafId` (or the active leaf).",
  })
  @Directive('@inaccessible')
  turnContext(
    @Arg('conversationId', () => ID, { nullable: true }) conversationId: string | null,
    @Arg('leafId', () => ID, { nullable: true }) leafId: string | null,
    @Arg('historyLimit', () => Int, { defaultValue: 50 }) historyLimit: number,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.turns.read(ctx.caller, {
      conversationId: conversationId ?? null,
      leafId: leafId ?? null,
      historyLimit,
    });
  }

  @Query(() => [Message], {
    description: 'Internal: the branch from the root to the leaf, oldest first, at most the newest `limit`.',
  })
  @Directive('@inaccessible')
  @ListSizeDirective({ slicingArguments: ['limit'] })
  messagePath(
    @Arg('leafId', () => ID) leafId: string,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 50 }) limit: number | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.messages.path(ctx.caller, leafId, limit ?? 50);
  }

  @Query(() => [SearchHit], {
    description: "Internal: the user's messages in other conversations closest in meaning to the query.",
  })
  @Directive('@inaccessible')
  @ListSizeDirective({ slicingArguments: ['first'] })
  recallMessages(
    @Arg('query', () => String) query: string,
    @Arg('excludeConversationId', () => ID, { nullable: true }) excludeConversationId: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 3 }) first: number | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.search.recallMessages(ctx.caller, query, excludeConversationId, first ?? 3);
  }

  @Query(() => [Message], {
    description:
      "Internal: messages still STREAMING (the acting user's, or everyone's), oldest first, for crash recovery: `first` after the message `after`.",
  })
  @Directive('@inaccessible')
  @ListSizeDirective({ slicingArguments: ['first'] })
  streamingMessages(
    @Arg('first', () => Int, { defaultValue: MAX_PAGE_SIZE }) first: number,
    @Arg('after', () => ID, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.messages.streaming(ctx.caller, first, after ?? null);
  }
}
