import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import type { ConversationRecord } from '../records/conversation.record';
import { ConversationSettingsInput, CreateConversationInput } from '../schema/conversation.input';
import { Conversation, ConversationExport } from '../schema/conversation.type';
import { Message, MessageConnection } from '../schema/message.type';
import { User } from '../schema/references';
import { DEFAULT_BRANCH_PAGE_SIZE } from '../services/branch-page';
import { ExportFormat } from '../services/export-conversation';

/**
 * Entity fetches (`_entities`) obey ownership like everything else: a foreign or missing
 * conversation resolves to null. They are batched: one query per request.
 */
export const conversationReference = {
  __resolveReference: (reference: { id: string }, ctx: ConversationContext) =>
    ctx.conversations.visible(reference.id),
};

@Resolver(() => Conversation)
export class ConversationResolver {
  @Query(() => Conversation, { description: 'One of your conversations.' })
  @Directive('@authenticated')
  conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext) {
    return ctx.conversations.get(ctx.caller, id);
  }

  @Query(() => ConversationExport, { description: 'One of your conversations as a file.' })
  @Directive('@authenticated')
  exportConversation(
    @Arg('id', () => ID) id: string,
    @Arg('format', () => ExportFormat) format: ExportFormat,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.export(ctx.caller, id, format);
  }

  @Mutation(() => Conversation, {
    description: 'Starts an empty conversation. `title` alone is the older form of `input.title`.',
  })
  @Directive('@authenticated')
  createConversation(
    @Arg('title', () => String, { nullable: true }) title: string | null,
    @Arg('input', () => CreateConversationInput, { nullable: true }) input: CreateConversationInput | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.create(ctx.caller, { ...input, title: input?.title ?? title });
  }

  @Mutation(() => Conversation, {
    description: 'Changes some of its settings; nothing is stored if any field is out of range.',
  })
  @Directive('@authenticated')
  updateConversationSettings(
    @Arg('id', () => ID) id: string,
    @Arg('settings', () => ConversationSettingsInput) settings: ConversationSettingsInput,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.updateSettings(ctx.caller, id, settings);
  }

  @Mutation(() => Conversation)
  @Directive('@authenticated')
  renameConversation(
    @Arg('id', () => ID) id: string,
    @Arg('title', () => String) title: string,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.conversations.rename(ctx.caller, id, title);
  }

  @Mutation(() => ID, {
    description: 'Deletes a conversation with all its messages (from search too); returns its id.',
  })
  @Directive('@authenticated')
  deleteConversation(@Arg('id', () => ID) id: string, @Ctx() ctx: ConversationContext) {
    return ctx.conversations.delete(ctx.caller, id);
  }

  @Mutation(() => Conversation, {
    description:
      'Makes the branch through this message the active one, down to its newest message (e.g. to show another sibling).',
  })
  @Directive('@authenticated')
  switchBranch(@Arg('messageId', () => ID) messageId: string, @Ctx() ctx: ConversationContext) {
    return ctx.conversations.switchBranch(ctx.caller, messageId);
  }

  @FieldResolver(() => MessageConnection, {
    description:
      'The active branch, root first. Page forward with first/after or backward with last/before; neither gives the first 50.',
  })
  @ListSizeDirective({
    slicingArguments: ['first', 'last'],
    assumedSize: DEFAULT_BRANCH_PAGE_SIZE,
    sizedFields: ['edges'],
  })
  messages(
    @Root() conversation: ConversationRecord,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.messages.branch(conversation, { first, after, last, before });
  }

  @FieldResolver(() => Message, {
    nullable: true,
    description: 'The newest message of the active branch (its leaf); null while the conversation is empty.',
  })
  lastMessage(@Root() conversation: ConversationRecord, @Ctx() ctx: ConversationContext) {
    return conversation.activeLeafId ? ctx.messages.visible(conversation.activeLeafId) : null;
  }

  @FieldResolver(() => User, { description: 'Who owns it; the auth subgraph resolves the rest of the user.' })
  owner(@Root() conversation: ConversationRecord): User {
    return { id: conversation.ownerId };
  }
}
