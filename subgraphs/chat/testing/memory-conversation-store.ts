import { randomUUID } from 'node:crypto';
import { badUserInput, notFound } from '../../../common/errors/errors';
import type { UserCaller } from '../../../common/identity/caller';
import type {
  AppendedTurn,
  AppendMessageInput,
  AppendTurnInput,
  ConversationClient,
  FirstTurnInput,
  FollowUpTurnInput,
  FollowUpTurnTerms,
  TurnQuery,
  UpdateMessageInput,
} from '../clients/conversation.client';
import type { TurnRecall } from '../../../common/records/turn-recall.record';
import { withTimeout } from '../../../common/util/timeout';
import { type RecallHit, type StoredMessage, UNTITLED_CONVERSATION } from '../records/message.record';
import {
  type ConversationSettings,
  DEFAULT_CONVERSATION_SETTINGS,
  settingsKey,
} from '../../../common/records/conversation-settings.record';
import type { TurnContext } from '../records/turn-context.record';

interface StoredConversation {
  id: string;
  ownerId: string;
  title: string;
  activeLeafId: string | null;
  settings: ConversationSettings;
}

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/**
 * A ConversationClient in memory with the conversation subgraph's rules (ownership, branches,
 * active leaf), for tests about the pipeline alone and for the throughput benchmark, which
 * measures the chat process rather than PostgreSQL. Recall scores by shared words.
 */
export class MemoryConversationStore implements ConversationClient {
  readonly conversations = new Map<string, StoredConversation>();
  readonly messages = new Map<string, StoredMessage>();
  /** Users who turned recall from their other conversations off. */
  readonly recallOff = new Set<string>();

  /** No instructions or memories of anyone's. */
  async turnContext(caller: UserCaller, query: TurnQuery): Promise<TurnContext> {
    const leaf = query.leafId === null ? null : this.ownedMessage(caller, query.leafId);
    const conversationId = leaf?.conversation.id ?? query.conversationId;
    const conversation = conversationId === null ? null : this.ownedConversation(caller, conversationId);
    const leafId = leaf?.id ?? conversation?.activeLeafId ?? null;
    return {
      conversationId: conversation?.id ?? null,
      settings: conversation?.settings ?? DEFAULT_CONVERSATION_SETTINGS,
      instructions: { aboutMe: '', howToAnswer: '' },
      memories: [],
      recallEnabled: !this.recallOff.has(caller.userId),
      history: leafId === null ? [] : await this.messagePath(caller, leafId, query.historyLimit),
    };
  }

  async appendMessage(caller: UserCaller, input: AppendMessageInput): Promise<StoredMessage> {
    const conversation = input.conversationId
      ? this.ownedConversation(caller, input.conversationId)
      : this.createConversation(caller.userId);
    const parentId = input.asRoot ? null : (input.parentId ?? conversation.activeLeafId);
    if (parentId !== null && this.messages.get(parentId)?.conversation.id !== conversation.id) {
      throw badUserInput('parentId', 'parentId is not a message of this conversation');
    }
    const message: StoredMessage = {
      id: randomUUID(),
      role: input.role,
      content: input.content,
      status: input.status ?? 'COMPLETE',
      createdAt: new Date(),
      conversation: { id: conversation.id, title: conversation.title },
      parentId,
      promptTokens: null,
      completionTokens: null,
      model: input.model ?? null,
    };
    this.messages.set(message.id, message);
    conversation.activeLeafId = message.id;
    return this.view(message);
  }

  async appendTurn(
    caller: UserCaller,
    { replyModel, ...input }: AppendTurnInput,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn> {
    // As the conversation subgraph: the recall searched beside the write, given up at its budget.
    const recalling = recall
      ? withTimeout(
          this.recallMessages(caller, input.content, input.conversationId, recall.first),
          recall.budgetMs,
          'recall',
        ).catch(() => [])
      : null;
    const userMessage = await this.appendMessage(caller, { ...input, role: 'USER' });
    const reply = await this.appendMessage(caller, {
      conversationId: userMessage.conversation.id,
      parentId: userMessage.id,
      role: 'ASSISTANT',
      content: '',
      status: 'STREAMING',
      model: replyModel,
    });
    return { userMessage, reply, recalled: recalling && (await recalling) };
  }

  async appendFirstTurn(
    caller: UserCaller,
    input: FirstTurnInput,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }> {
    const context = await this.turnContext(caller, { conversationId: null, leafId: null, historyLimit: 1 });
    return {
      ...(await this.appendTurn(caller, { ...input, conversationId: null, parentId: null }, recall)),
      context,
    };
  }

  async appendFollowUpTurn(
    caller: UserCaller,
    input: FollowUpTurnInput,
    { expectedSettings, historyLimit }: FollowUpTurnTerms,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }> {
    const conversation = this.ownedConversation(caller, input.conversationId);
    if (settingsKey(conversation.settings) !== expectedSettings) {
      throw badUserInput(
        'expectedSettings',
        "The conversation's settings changed since the reply was planned",
      );
    }
    const appended = await this.appendTurn(caller, { ...input, parentId: null }, recall);
    const context = await this.turnContext(caller, {
      conversationId: null,
      leafId: appended.userMessage.id,
      historyLimit,
    });
    return { ...appended, context };
  }

  async updateMessage(caller: UserCaller, input: UpdateMessageInput): Promise<void> {
    const message = this.ownedMessage(caller, input.id);
    if (input.content !== undefined) message.content = input.content;
    if (input.status !== undefined) message.status = input.status;
    if (input.promptTokens !== undefined) message.promptTokens = input.promptTokens;
    if (input.completionTokens !== undefined) message.completionTokens = input.completionTokens;
    const conversation = this.ownedConversation(caller, message.conversation.id);
    if (input.conversationTitle !== undefined && conversation.title === UNTITLED_CONVERSATION) {
      conversation.title = input.conversationTitle;
    }
  }

  async messagePath(caller: UserCaller, leafId: string, limit: number): Promise<StoredMessage[]> {
    const path: StoredMessage[] = [];
    for (let id: string | null = this.ownedMessage(caller, leafId).id; id && path.length < limit; ) {
      const message = this.messages.get(id) as StoredMessage;
      path.unshift(this.view(message));
      id = message.parentId;
    }
    return path;
  }

  async recallMessages(
    caller: UserCaller,
    query: string,
    excludeConversationId: string | null,
    first: number,
  ): Promise<RecallHit[]> {
    // As the conversation subgraph: the owner's switch is kept where the messages are.
    if (this.recallOff.has(caller.userId)) return [];
    const wanted = words(query);
    return [...this.messages.values()]
      .filter((message) => {
        const conversation = this.conversations.get(message.conversation.id);
        return conversation?.ownerId === caller.userId && conversation.id !== excludeConversationId;
      })
      .map((message) => {
        const shared = [...words(message.content)].filter((word) => wanted.has(word)).length;
        return { score: wanted.size === 0 ? 0 : shared / wanted.size, message: this.view(message) };
      })
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, first);
  }

  async interruptMessage(_requestId: string, messageId: string): Promise<void> {
    const message = this.messages.get(messageId);
    if (!message) throw notFound('Message');
    if (message.status === 'STREAMING') message.status = 'INTERRUPTED';
  }

  async streamingMessages(): Promise<StoredMessage[]> {
    return [...this.messages.values()].filter((m) => m.status === 'STREAMING').map((m) => this.view(m));
  }

  private createConversation(ownerId: string): StoredConversation {
    const conversation = {
      id: randomUUID(),
      ownerId,
      title: UNTITLED_CONVERSATION,
      activeLeafId: null,
      settings: { ...DEFAULT_CONVERSATION_SETTINGS },
    };
    this.conversations.set(conversation.id, conversation);
    return conversation;
  }

  private ownedConversation(caller: UserCaller, id: string): StoredConversation {
    const conversation = this.conversations.get(id);
    if (conversation?.ownerId !== caller.userId) throw notFound('Conversation');
    return conversation;
  }

  private ownedMessage(caller: UserCaller, id: string): StoredMessage {
    const message = this.messages.get(id);
    if (!message || this.conversations.get(message.conversation.id)?.ownerId !== caller.userId) {
      throw notFound('Message');
    }
    return message;
  }

  /** A copy with the conversation's current title, as the subgraph would answer. */
  private view(message: StoredMessage): StoredMessage {
    const conversation = this.conversations.get(message.conversation.id) as StoredConversation;
    return { ...message, conversation: { id: conversation.id, title: conversation.title } };
  }
}
