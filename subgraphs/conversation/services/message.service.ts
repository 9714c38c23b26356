import { badUserInput, notFound } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import { DEFAULT_CONVERSATION_SETTINGS } from '../../../common/records/conversation-settings.record';
import {
  buildConnection,
  checkPageSize,
  type Connection,
  encodeCursor,
} from '../../../common/graphql/pagination';
import type { ConversationRecord } from '../records/conversation.record';
import {
  type MessageRecord,
  MessageRole,
  MessageStatus,
  type OwnedMessageRecord,
} from '../records/message.record';
import { type BranchPage, type BranchPageArgs, branchPageKey, parseBranchPage } from './branch-page';
import { DEFAULT_TITLE } from './conversation.service';
import { MAX_SIBLINGS, siblingGroup } from './loaders';
import type { ServiceContext } from './service-context';
import { type Caller, requireService, requireUser } from '../../../common/identity/caller';
import { ownerScope } from './owner-scope';

export const MAX_MODEL_NAME_LENGTH = 100;

export interface AppendMessage {
  conversationId?: string | null;
  parentId?: string | null;
  /** A new root: a sibling of the conversation's first message. */
  asRoot?: boolean | null;
  role: MessageRole;
  content: string;
  status?: MessageStatus | null;
  model?: string | null;
}

export interface UpdateMessage {
  id: string;
  content?: string | null;
  status?: MessageStatus | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
}

/** A message the model is no longer writing: what the search index holds. */
const isFinal = (status: MessageStatus) => status !== MessageStatus.STREAMING;
const isIndexable = (message: Pick<MessageRecord, 'status' | 'content'>) =>
  isFinal(message.status) && message.content.trim().length > 0;

/** Messages: the active branch, branch navigation, and the writes the chat service makes. */
export class MessageService {
  constructor(private readonly context: ServiceContext) {}

  /** A page of the conversation's active branch (root → active leaf); the caller checked access. */
  async branch(conversation: ConversationRecord, args: BranchPageArgs): Promise<Connection<MessageRecord>> {
    const page = parseBranchPage(args);
    const leafId = conversation.activeLeafId;
    if (!leafId) return buildConnection([], () => '', { hasNextPage: false, hasPreviousPage: false });
    return this.context.cache.branchPage(conversation.id, `${leafId}:${branchPageKey(page)}`, () =>
      this.loadBranchPage(leafId, page),
    );
  }

  /** For entity references and fields of other types: null when missing or not visible. */
  visible(id: string): Promise<OwnedMessageRecord | null> {
    return this.context.loaders.message.load(id);
  }

  /** Every message with the same parent (this one included), oldest first, at most MAX_SIBLINGS. */
  siblings(message: MessageRecord): Promise<MessageRecord[]> {
    return this.context.loaders.siblings.load(siblingGroup(message));
  }

  /** Internal: adds a message (in a new conversation when none is named) as the active leaf. */
  async append(caller: Caller, input: AppendMessage): Promise<MessageRecord> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    const [message] = await this.insert(ownerId, input, null);
    return message;
  }

  /**
   * Internal: the user's message and, under it, the reply the model is about to write (STREAMING,
   * by `replyModel`), in one transaction: both are stored or neither is.
   */
  async appendTurn(
    caller: Caller,
    input: Omit<AppendMessage, 'role' | 'status' | 'model'>,
    replyModel: string,
  ): Promise<{ userMessage: MessageRecord; reply: MessageRecord }> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    this.checkModel(replyModel);
    const [userMessage, reply] = await this.insert(ownerId, { ...input, role: MessageRole.USER }, replyModel);
    return { userMessage, reply: reply as MessageRecord };
  }

  /** `input` as the active leaf, and, given a model, a STREAMING assistant reply under it as the new leaf. */
  private async insert(
    ownerId: string,
    input: AppendMessage,
    replyModel: string | null,
  ): Promise<[MessageRecord, MessageRecord | null]> {
    this.checkContent(input.content);
    if (input.model) this.checkModel(input.model);
    if ((input.parentId || input.asRoot) && !input.conversationId) {
      throw badUserInput('conversationId', 'conversationId is required with parentId or asRoot');
    }
    if (input.asRoot && input.parentId) {
      throw badUserInput('asRoot', 'a message with a parent is not a root');
    }
    const status = input.status ?? MessageStatus.COMPLETE;
    // A first message creates its conversation: it counts against the same budget as createConversation.
    if (!input.conversationId) await this.context.conversationCreations.spend(ownerId);
    const [message, reply] = await this.context.repositories.withTransaction(
      async ({ conversations, messages, outbox }): Promise<[MessageRecord, MessageRecord | null]> => {
        const conversation = input.conversationId
          ? isUuid(input.conversationId)
            ? await conversations.lockOwned(ownerId, input.conversationId)
            : null
          : await conversations.insert(ownerId, DEFAULT_TITLE, DEFAULT_CONVERSATION_SETTINGS);
        if (!conversation) throw notFound('Conversation');
        const parentId = input.asRoot ? null : (input.parentId ?? conversation.activeLeafId);
        const [parent] = parentId && isUuid(parentId) ? await messages.findByIds([parentId], ownerId) : [];
        if (parentId && parent?.conversationId !== conversation.id) throw notFound('Message');
        // Under the conversation's lock: two appends cannot both take the last free version.
        if ((await messages.countChildren(conversation.id, parent?.id ?? null)) >= MAX_SIBLINGS) {
          throw badUserInput(
            input.parentId ? 'parentId' : 'conversationId',
            `a message has at most ${MAX_SIBLINGS} versions`,
          );
        }
        const created = await messages.insert({
          conversationId: conversation.id,
          parent: parent ?? null,
          role: input.role,
          content: input.content,
          status,
          model: input.model ?? null,
          createdAt: new Date(),
        });
        if (isIndexable(created)) await outbox.enqueueMessage(created.id, conversation.id);
        const reply =
          replyModel === null
            ? null
            : await messages.insert({
                conversationId: conversation.id,
                parent: created,
                role: MessageRole.ASSISTANT,
                content: '',
                status: MessageStatus.STREAMING,
                model: replyModel,
                createdAt: new Date(),
              });
        const leaf = reply ?? created;
        await conversations.recordActivity(conversation.id, leaf.id, leaf.createdAt);
        return [created, reply];
      },
    );
    await this.context.cache.conversationChanged(ownerId, message.conversationId);
    if (isIndexable(message)) this.context.indexer.wake();
    return [message, reply];
  }

  /**
   * Internal: a checkpoint of a streaming message, or its final state. Once final (any status
   * but STREAMING), its content and status no longer change; token counts still may.
   */
  async update(caller: Caller, input: UpdateMessage): Promise<MessageRecord> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    if (input.content !== undefined && input.content !== null) this.checkContent(input.content);
    for (const field of ['promptTokens', 'completionTokens'] as const) {
      const value = input[field];
      if (value !== undefined && value !== null && (!Number.isInteger(value) || value < 0)) {
        throw badUserInput(field, `${field} must be a non-negative integer`);
      }
    }
    const { id, ...patch } = input;
    const result = isUuid(id)
      ? await this.context.repositories.messages.save(ownerId, id, patch, new Date())
      : null;
    if (!result) throw notFound('Message');
    const { message, saved, queued } = result;
    if (!saved) {
      throw badUserInput(
        input.status != null && input.status !== message.status ? 'status' : 'content',
        `the message is ${message.status}; only a STREAMING message changes its content or status`,
      );
    }
    await this.context.cache.messagesChanged(message.conversationId);
    if (queued) this.context.indexer.wake();
    return message;
  }

  /** Internal: the branch from the root to `leafId`, oldest first, at most the newest `limit`. */
  async path(caller: Caller, leafId: string, limit: number): Promise<MessageRecord[]> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    checkPageSize(limit, 'limit');
    const leaf = await this.context.loaders.message.load(leafId);
    if (!leaf || leaf.ownerId !== ownerId) throw notFound('Message');
    return this.context.repositories.messages.pathToLeaf(leafId, limit);
  }

  /**
   * Internal: messages still STREAMING (the acting user's, or everyone's for a service alone),
   * oldest first: `first` of them after the message `after`.
   */
  async streaming(caller: Caller, first: number, after: string | null): Promise<MessageRecord[]> {
    requireService(caller);
    checkPageSize(first, 'first');
    if (after !== null && !isUuid(after)) throw badUserInput('after', 'after must be a message id');
    const scope = ownerScope(caller);
    return this.context.repositories.messages.streaming(
      typeof scope === 'object' ? scope.ownerId : null,
      first,
      after,
    );
  }

  private checkModel(model: string): void {
    if (model.length > MAX_MODEL_NAME_LENGTH) {
      throw badUserInput('model', `model must be at most ${MAX_MODEL_NAME_LENGTH} characters`);
    }
  }

  private checkContent(content: string): void {
    if (content.length > this.context.messageMaxChars) {
      throw badUserInput('content', `content must be at most ${this.context.messageMaxChars} characters`);
    }
  }

  private async loadBranchPage(leafId: string, page: BranchPage): Promise<Connection<MessageRecord>> {
    const { messages } = this.context.repositories;
    const cursorOf = (message: MessageRecord) => encodeCursor(message.depth);
    if (page.direction === 'forward') {
      // One message beyond the page tells whether there is a next page.
      const from = (page.afterDepth ?? -1) + 1;
      const rows = await messages.branchSlice(leafId, from, from + page.size);
      return buildConnection(rows.slice(0, page.size), cursorOf, {
        hasNextPage: rows.length > page.size,
        hasPreviousPage: from > 0,
      });
    }
    if (page.beforeDepth === null) {
      const rows = await messages.pathToLeaf(leafId, page.size);
      return buildConnection(rows, cursorOf, {
        hasNextPage: false,
        hasPreviousPage: (rows[0]?.depth ?? 0) > 0,
      });
    }
    // The message at `before` itself comes too: its presence tells whether there is a next page.
    const from = Math.max(0, page.beforeDepth - page.size);
    const rows = await messages.branchSlice(leafId, from, page.beforeDepth);
    const hasNextPage = rows.at(-1)?.depth === page.beforeDepth;
    return buildConnection(hasNextPage ? rows.slice(0, -1) : rows, cursorOf, {
      hasNextPage,
      hasPreviousPage: from > 0,
    });
  }
}
