import { randomUUID } from 'node:crypto';
import { badUserInput, notFound } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import { type Caller, requireUser, type UserCaller } from '../../../common/identity/caller';
import { traceTurn } from '../../../common/logging/turn-trace';
import type { ConversationClient } from '../clients/conversation.client';
import { type GenerationRecord, GenerationStatus } from '../records/generation.record';
import type { GenerationSupervisor } from '../generation/generation-supervisor';
import type { QuotaService } from './quota.service';
import type { GenerationRepository } from '../repositories/generation.repository';
import type { StoredMessage } from '../records/message.record';
import type { ModelCatalog, ModelInfo } from './model-catalog';

export interface SendMessage {
  conversationId?: string | null;
  content: string;
  /** Reply under this message instead of the conversation's active leaf (a new branch). */
  parentMessageId?: string | null;
  model?: string | null;
}

/** What sendMessage and editMessage answer at once, while the reply is generated in the background. */
export interface StartedGeneration {
  conversationId: string;
  userMessage: StoredMessage;
  generation: GenerationRecord;
}

export interface ChatServiceDependencies {
  conversations: ConversationClient;
  generations: GenerationRepository;
  quotas: QuotaService;
  supervisor: GenerationSupervisor;
  models: ModelCatalog;
  messageMaxChars: number;
  leaseMs: number;
}

/** A generation admitted by the quotas and holding its conversation's active slot. */
interface Reservation {
  generationId: string;
  caller: UserCaller;
  conversationId: string | null;
}

/**
 * Sending, regenerating and editing: each stores what the user wrote (through the conversation
 * subgraph, which enforces ownership), adds the assistant message as STREAMING, records the
 * generation and hands it to the supervisor, all before answering. A conversation has at most one
 * generation at a time; quotas are checked before anything is written, and ownership of the
 * conversation or message named (through the conversation subgraph) before any quota or slot is
 * taken, so nobody can hold another user's conversation even for a moment.
 */
export class ChatService {
  constructor(private readonly deps: ChatServiceDependencies) {}

  async send(caller: Caller, input: SendMessage): Promise<StartedGeneration> {
    traceTurn('chat.send-received', caller.requestId);
    const user = requireUser(caller);
    const content = this.checkContent(input.content, 'content');
    const model = this.resolveModel(input.model);
    if (input.conversationId != null && !isUuid(input.conversationId)) throw notFound('Conversation');
    if (input.parentMessageId != null && !isUuid(input.parentMessageId)) throw notFound('Message');
    // Ownership before anything shared: the conversation's slot is its owner's alone to take.
    if (input.conversationId != null) await this.deps.conversations.conversation(user, input.conversationId);
    return this.reserve(user, input.conversationId ?? null, async (reservation) => {
      const userMessage = await this.deps.conversations.appendMessage(user, {
        conversationId: input.conversationId ?? null,
        parentId: input.parentMessageId ?? null,
        role: 'USER',
        content,
      });
      await this.claimNewConversation(reservation, userMessage.conversation.id);
      const generation = await this.begin(reservation, userMessage, model);
      traceTurn('chat.generation-started', generation.id, caller.requestId);
      return { conversationId: userMessage.conversation.id, userMessage, generation };
    });
  }

  /** A new reply beside an assistant message (or under a user message): a sibling branch. */
  async regenerate(
    caller: Caller,
    messageId: string,
    requestedModel?: string | null,
  ): Promise<GenerationRecord> {
    const user = requireUser(caller);
    const model = this.resolveModel(requestedModel);
    const [parent, message] = await this.messageWithParent(user, messageId);
    if (message.role === 'SYSTEM')
      throw badUserInput('messageId', 'A system message has no reply to regenerate');
    const answered = message.role === 'USER' ? message : parent;
    if (!answered) throw badUserInput('messageId', 'This reply answers no message');
    return this.reserve(user, message.conversation.id, (reservation) =>
      this.begin(reservation, answered, model),
    );
  }

  /** The user's message rewritten as a sibling of the original, and a reply to it. */
  async edit(caller: Caller, messageId: string, newContent: string): Promise<StartedGeneration> {
    const user = requireUser(caller);
    const content = this.checkContent(newContent, 'content');
    const model = this.resolveModel(null);
    const [, message] = await this.messageWithParent(user, messageId);
    if (message.role !== 'USER') throw badUserInput('messageId', 'Only your own messages can be edited');
    return this.reserve(user, message.conversation.id, async (reservation) => {
      const userMessage = await this.deps.conversations.appendMessage(user, {
        conversationId: message.conversation.id,
        parentId: message.parentId,
        // An edited first message is a second root: a null parent alone would mean "the active leaf".
        asRoot: message.parentId === null,
        role: 'USER',
        content,
      });
      const generation = await this.begin(reservation, userMessage, model);
      return { conversationId: userMessage.conversation.id, userMessage, generation };
    });
  }

  /**
   * Admits a new generation (quotas), takes its conversation's slot when the conversation is
   * known, runs `start`, and gives everything back if `start` fails.
   */
  private async reserve<T>(
    user: UserCaller,
    conversationId: string | null,
    start: (reservation: Reservation) => Promise<T>,
  ): Promise<T> {
    const reservation: Reservation = { generationId: randomUUID(), caller: user, conversationId: null };
    await this.deps.quotas.admit(user.userId, reservation.generationId);
    try {
      if (conversationId) await this.claimConversation(reservation, conversationId);
      return await start(reservation);
    } catch (error) {
      await Promise.allSettled([
        this.deps.quotas.release(user.userId, reservation.generationId),
        reservation.conversationId
          ? this.deps.generations.releaseConversation(
              reservation.conversationId,
              user.userId,
              reservation.generationId,
            )
          : Promise.resolve(),
      ]);
      throw error;
    }
  }

  /**
   * One generation per conversation at a time. Who holds the slot decides the answer: the
   * caller's own generation is a clear error, anyone else's (the id is not the caller's)
   * NOT_FOUND, exactly as the conversation subgraph would answer, so the slot reveals nothing.
   */
  private async claimConversation(reservation: Reservation, conversationId: string): Promise<void> {
    const { caller: user, generationId } = reservation;
    const holder = await this.deps.generations.claimConversation(
      conversationId,
      user.userId,
      generationId,
      this.deps.leaseMs,
    );
    if (holder === null) {
      reservation.conversationId = conversationId;
      return;
    }
    if (holder.userId !== user.userId) throw notFound('Conversation');
    throw badUserInput(
      'conversationId',
      'A reply is still being written in this conversation; wait for it or stop it first',
    );
  }

  /** A conversation sendMessage has just created cannot be held by anyone yet. */
  private async claimNewConversation(reservation: Reservation, conversationId: string): Promise<void> {
    if (reservation.conversationId === null) await this.claimConversation(reservation, conversationId);
  }

  private async begin(
    reservation: Reservation,
    answered: StoredMessage,
    model: ModelInfo,
  ): Promise<GenerationRecord> {
    const { caller: user, generationId } = reservation;
    const assistant = await this.deps.conversations.appendMessage(user, {
      conversationId: answered.conversation.id,
      parentId: answered.id,
      role: 'ASSISTANT',
      content: '',
      status: 'STREAMING',
      model: model.id,
    });
    const generation: GenerationRecord = {
      id: generationId,
      userId: user.userId,
      conversationId: answered.conversation.id,
      messageId: assistant.id,
      parentMessageId: answered.id,
      model: model.id,
      provider: model.provider,
      status: GenerationStatus.STREAMING,
      startedAt: new Date(),
      firstTokenAt: null,
      finishedAt: null,
      usage: null,
      error: null,
      context: [],
    };
    try {
      await this.deps.generations.create(generation, this.deps.leaseMs);
    } catch (error) {
      // Without its record nothing would ever finish the placeholder reply: say it failed.
      await this.deps.conversations
        .updateMessage(user, { id: assistant.id, status: 'FAILED' })
        .catch(() => undefined);
      throw error;
    }
    this.deps.supervisor.launch({ generation: { ...generation }, caller: user, answered });
    return generation;
  }

  /** The message (owned by the user, else NOT_FOUND) and its parent, if any. */
  private async messageWithParent(
    user: UserCaller,
    messageId: string,
  ): Promise<[parent: StoredMessage | null, message: StoredMessage]> {
    if (!isUuid(messageId)) throw notFound('Message');
    const path = await this.deps.conversations.messagePath(user, messageId, 2);
    const message = path[path.length - 1];
    if (message?.id !== messageId) throw notFound('Message');
    return [path.length === 2 ? path[0] : null, message];
  }

  private checkContent(content: string, field: string): string {
    if (!content.trim()) throw badUserInput(field, `${field} must not be empty`);
    if (content.length > this.deps.messageMaxChars) {
      throw badUserInput(field, `${field} must be at most ${this.deps.messageMaxChars} characters`);
    }
    return content;
  }

  private resolveModel(requested: string | null | undefined): ModelInfo {
    return this.deps.models.resolve(requested);
  }
}
