import { randomUUID } from 'node:crypto';
import { badUserInput, notFound } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import {
  DEFAULT_CONVERSATION_SETTINGS,
  settingsKey,
} from '../../../common/records/conversation-settings.record';
import {
  buildConnection,
  checkPageSize,
  type Connection,
  encodeCursor,
} from '../../../common/graphql/pagination';
import { type ConversationRecord, DEFAULT_TITLE, newConversation } from '../records/conversation.record';
import {
  type MessageRecord,
  MessageRole,
  MessageStatus,
  type OwnedMessageRecord,
} from '../records/message.record';
import type { Repositories } from '../repositories';
import type { MessagePatch, SavedMessage } from '../repositories/message.repository';
import { type BranchPage, type BranchPageArgs, branchPageKey, parseBranchPage } from './branch-page';
import { MAX_SIBLINGS, siblingGroup } from './loaders';
import type { ServiceContext } from './service-context';
import { type Caller, requireService, requireUser } from '../../../common/identity/caller';
import { normaliseTitle } from './conversation.service';
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
  /** Names the message's conversation if nobody has yet (its owner's own title is kept). */
  conversationTitle?: string | null;
}

/** Where a new message goes: its conversation (new or locked) and its parent (null for a root). */
interface AppendTarget {
  conversation: ConversationRecord;
  isNew: boolean;
  parent: MessageRecord | null;
}

/** A message as it is inserted: a new id, under `parent` (a root without one). */
const newMessage = (
  conversationId: string,
  parent: MessageRecord | null,
  fields: Pick<MessageRecord, 'role' | 'content' | 'status' | 'model' | 'createdAt'>,
): MessageRecord => ({
  id: randomUUID(),
  conversationId,
  parentId: parent?.id ?? null,
  depth: parent ? parent.depth + 1 : 0,
  ...fields,
  promptTokens: null,
  completionTokens: null,
  updatedAt: fields.createdAt,
});

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
    expectedSettings: string | null = null,
  ): Promise<{ userMessage: MessageRecord; reply: MessageRecord }> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    this.checkModel(replyModel);
    const [userMessage, reply] = await this.insert(
      ownerId,
      { ...input, role: MessageRole.USER },
      replyModel,
      expectedSettings,
    );
    return { userMessage, reply: reply as MessageRecord };
  }

  /**
   * `input` as the active leaf, and, given a model, a STREAMING assistant reply under it as the new
   * leaf; given `expectedSettings` (a `settingsKey`), only while the conversation's settings are those.
   */
  private async insert(
    ownerId: string,
    input: AppendMessage,
    replyModel: string | null,
    expectedSettings: string | null = null,
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
    const write = async (turns: Repositories['turns'], target: AppendTarget) => {
      const now = new Date();
      const created = newMessage(target.conversation.id, target.parent, {
        role: input.role,
        content: input.content,
        status,
        model: input.model ?? null,
        createdAt: now,
      });
      const reply =
        replyModel === null
          ? null
          : newMessage(target.conversation.id, created, {
              role: MessageRole.ASSISTANT,
              content: '',
              status: MessageStatus.STREAMING,
              model: replyModel,
              createdAt: now,
            });
      const conversation = {
        ...target.conversation,
        activeLeafId: (reply ?? created).id,
        lastActivityAt: now,
        updatedAt: now,
      };
      await turns.insert({
        conversation,
        isNewConversation: target.isNew,
        messages: reply ? [created, reply] : [created],
        indexable: isIndexable(created) ? [created] : [],
      });
      // What the answer selects of them (their conversation, their parents) needs no read back.
      this.context.loaders.conversation.prime(conversation.id, conversation);
      for (const message of [target.parent, created, reply]) {
        if (message) this.context.loaders.message.prime(message.id, { ...message, ownerId });
      }
      return [created, reply] as const;
    };
    // A new conversation and its messages are one statement; an existing one is locked first.
    const [message, reply] = input.conversationId
      ? await this.context.repositories.withTransaction(async ({ conversations, messages, turns }) =>
          write(turns, await this.placeInExisting(ownerId, input, conversations, messages, expectedSettings)),
        )
      : await write(this.context.repositories.turns, this.placeInNew(ownerId));
    await this.context.cache.conversationChanged(ownerId, message.conversationId);
    if (isIndexable(message)) this.context.indexer.wake();
    return [message, reply];
  }

  /** A new conversation for a first message: inserted together with it. */
  private placeInNew(ownerId: string): AppendTarget {
    return {
      conversation: newConversation(ownerId, DEFAULT_TITLE, DEFAULT_CONVERSATION_SETTINGS),
      isNew: true,
      parent: null,
    };
  }

  /**
   * Locks the owner's conversation until the transaction ends, then finds the new message's
   * parent and checks the versions left under it: two appends cannot both take the last one. The
   * lock also holds its settings still, so a turn checked against them is written under them.
   */
  private async placeInExisting(
    ownerId: string,
    input: AppendMessage,
    conversations: Repositories['conversations'],
    messages: Repositories['messages'],
    expectedSettings: string | null,
  ): Promise<AppendTarget> {
    const conversationId = input.conversationId as string;
    const conversation = isUuid(conversationId)
      ? await conversations.lockOwned(ownerId, conversationId)
      : null;
    if (!conversation) throw notFound('Conversation');
    if (expectedSettings !== null && settingsKey(conversation.settings) !== expectedSettings) {
      throw badUserInput(
        'expectedSettings',
        "The conversation's settings changed since the reply was planned",
      );
    }
    const parentId = input.asRoot ? null : (input.parentId ?? conversation.activeLeafId);
    const place =
      parentId === null || isUuid(parentId) ? await messages.placeUnder(conversation.id, parentId) : null;
    if (!place) throw notFound('Message');
    if (place.children >= MAX_SIBLINGS) {
      throw badUserInput(
        input.parentId ? 'parentId' : 'conversationId',
        `a message has at most ${MAX_SIBLINGS} versions`,
      );
    }
    return { conversation, isNew: false, parent: place.parent };
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
    const { id, conversationTitle, ...patch } = input;
    const title = conversationTitle == null ? null : normaliseTitle(conversationTitle, 'conversationTitle');
    const result = await this.save(ownerId, id, { ...patch, conversationTitle: title });
    const { message } = result;
    if (!result.saved) {
      throw badUserInput(
        input.status != null && input.status !== message.status ? 'status' : 'content',
        `the message is ${message.status}; only a STREAMING message changes its content or status`,
      );
    }
    await this.afterSave(result);
    return message;
  }

  /**
   * Internal (chat's recovery, acting for no user): ends a STREAMING reply whose generation is lost
   * (Redis lost it with its process) as INTERRUPTED, with the content its last checkpoint saved. A
   * message already final stays as it is; so does a reply its owner's process still writes, which
   * recovery only asks about once it has none left.
   */
  async interrupt(caller: Caller, id: string): Promise<MessageRecord> {
    requireService(caller);
    const scope = ownerScope(caller);
    if (scope === 'nobody') throw notFound('Message');
    const result = await this.save(scope === 'everyone' ? null : scope.ownerId, id, {
      status: MessageStatus.INTERRUPTED,
    });
    if (result.saved) await this.afterSave(result);
    return result.message;
  }

  /** One statement (MessageRepository.save); a message that is missing or not `ownerId`'s is NOT_FOUND. */
  private async save(ownerId: string | null, id: string, patch: MessagePatch): Promise<SavedMessage> {
    const result = isUuid(id)
      ? await this.context.repositories.messages.save(ownerId, id, patch, new Date())
      : null;
    if (!result) throw notFound('Message');
    return result;
  }

  /** After a save took: the cache retired (the conversation's row too when it took a title), the indexer woken. */
  private async afterSave({ message, queued, titled }: SavedMessage): Promise<void> {
    await (titled
      ? this.context.cache.conversationChanged(message.ownerId, message.conversationId)
      : this.context.cache.messagesChanged(message.conversationId));
    if (queued) this.context.indexer.wake();
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
