import { badUserInput, notFound } from '../../../common/errors/errors';
import { checkPageSize } from '../../../common/graphql/pagination';
import { type Caller, requireService, requireUser } from '../../../common/identity/caller';
import { isUuid } from '../../../common/util/ids';
import { traceTurn } from '../../../common/logging/turn-trace';
import {
  type ConversationSettings,
  DEFAULT_CONVERSATION_SETTINGS,
} from '../../../common/records/conversation-settings.record';
import type { MemoryRecord } from '../records/memory.record';
import { type MessageRecord, MessageStatus } from '../records/message.record';
import type { InstructionsRecord } from '../records/preference.record';
import type { SearchHitRecord } from '../records/search-hit.record';
import type { AppendMessage, MessageService } from './message.service';
import type { SearchService } from './search.service';
import { MAX_RECALL_BUDGET_MS, type TurnRecall } from '../../../common/records/turn-recall.record';
import type { ServiceContext } from './service-context';

export interface TurnQuery {
  /** The conversation; null for a first message, which creates one. */
  conversationId: string | null;
  /** The message the history ends at; null: the conversation's active leaf. */
  leafId: string | null;
  historyLimit: number;
}

/** Everything chat puts into one reply's prompt, read at once (docs/conversation.md#internal-operations). */
export interface TurnContextRecord {
  /** The conversation the history is in; null for a first message. */
  conversationId: string | null;
  settings: ConversationSettings;
  /** The owner's instructions; null when the conversation turns them off. */
  instructions: InstructionsRecord | null;
  /** The owner's memories, newest first. */
  memories: MemoryRecord[];
  /** The owner's switch for recall from other conversations. */
  recallEnabled: boolean;
  /** The branch from the root to the leaf, oldest first, at most the newest `historyLimit`. */
  history: MessageRecord[];
}

/** A written turn, with what was asked to be read beside the write. */
export interface AppendedTurnRecord {
  userMessage: MessageRecord;
  reply: MessageRecord;
  /** The reply's context: when asked for (a first message's, a follow-up's), else null. */
  context: TurnContextRecord | null;
  /** What the recall found: null when none was asked for. */
  recalled: SearchHitRecord[] | null;
}

type TurnMessage = Omit<AppendMessage, 'role' | 'status' | 'model'>;

const NO_INSTRUCTIONS: InstructionsRecord = { aboutMe: '', howToAnswer: '' };

/**
 * Internal: what one turn of chat needs to build its prompt, in one request and one statement
 * rather than one per part, so the send path waits on a single read before it writes anything.
 */
export class TurnService {
  constructor(
    private readonly context: ServiceContext,
    private readonly messages: MessageService,
    private readonly search: SearchService,
  ) {}

  /**
   * Internal: the user's message as the active leaf and the STREAMING reply under it, in one
   * transaction; and, when `recall` asks, the recall for the reply searched beside that write and
   * answered with it, so a turn is one request from chat however much it reads. Given
   * `expectedSettings`, a turn in an existing conversation is written only while its settings are those.
   */
  async append(
    caller: Caller,
    input: TurnMessage,
    replyModel: string,
    recall: TurnRecall | null,
    expectedSettings: string | null = null,
  ): Promise<AppendedTurnRecord> {
    const { userMessage, reply, recalling } = await this.write(
      caller,
      input,
      replyModel,
      recall,
      expectedSettings,
    );
    return { userMessage, reply, context: null, recalled: recalling && (await recalling) };
  }

  /**
   * Internal: a first message (it creates its conversation) with the STREAMING reply under it, and
   * the turn's context read beside that write, in one request: a first message has no conversation
   * whose ownership must be checked, or whose one-reply-at-a-time slot chat must hold, before it is
   * written, so chat need not read the context first. The context is as `read` answers for no
   * conversation: the default settings, the owner's instructions, memories and recall switch, no
   * history. Should the read fail once the turn is written, the reply is marked FAILED (nothing
   * would ever finish it) and the read's error is the answer.
   */
  async appendFirst(
    caller: Caller,
    input: TurnMessage,
    replyModel: string,
    recall: TurnRecall | null,
  ): Promise<AppendedTurnRecord> {
    if (input.conversationId != null || input.parentId != null || input.asRoot) {
      throw badUserInput(
        'withContext',
        'Only a first message (no conversationId, parentId or asRoot) is appended with its context',
      );
    }
    traceTurn('conversation.turn-received', caller.requestId);
    const reading = this.read(caller, { conversationId: null, leafId: null, historyLimit: 1 });
    // The context holds the owner's recall switch: the recall need not read it again.
    const recalling = this.recallBeside(
      caller,
      input,
      recall,
      reading.then(
        (context) => context.recallEnabled,
        () => false,
      ),
    );
    // Settled either way here, so that a failed write leaves no unhandled rejection behind it.
    const read = reading.then(
      (context) => ({ context }),
      (error: unknown) => ({ error }),
    );
    const { userMessage, reply } = await this.messages.appendTurn(caller, input, replyModel);
    traceTurn('conversation.turn-written', caller.requestId);
    const result = await read;
    if ('error' in result) return this.failReply(caller, reply, result.error);
    return { userMessage, reply, context: result.context, recalled: recalling && (await recalling) };
  }

  /**
   * Internal: a follow-up (a message at the active leaf of an existing conversation) with the
   * STREAMING reply under it, written only while the conversation's settings are those chat planned
   * the reply with (`expectedSettings`, their `settingsKey`; else BAD_USER_INPUT on
   * `expectedSettings`, nothing written), and the turn's context read once it is written, its history
   * the newest `historyLimit` messages ending at the user's: one request for what is otherwise a read
   * and then a write. Chat sends it only for a conversation it has seen the caller own, so the slot
   * it holds first is never another user's. Should the read fail, the reply is marked FAILED and
   * the read's error is the answer, as for a first message.
   */
  async appendFollowUp(
    caller: Caller,
    input: TurnMessage,
    replyModel: string,
    recall: TurnRecall | null,
    { expectedSettings, historyLimit }: { expectedSettings: string | null; historyLimit: number },
  ): Promise<AppendedTurnRecord> {
    if (input.conversationId == null || input.parentId != null || input.asRoot || expectedSettings === null) {
      throw badUserInput(
        'withContext',
        'A message in an existing conversation is appended with its context only at its active leaf (no parentId or asRoot) and against expectedSettings',
      );
    }
    checkPageSize(historyLimit, 'historyLimit');
    const { userMessage, reply, recalling } = await this.write(
      caller,
      input,
      replyModel,
      recall,
      expectedSettings,
    );
    let context: TurnContextRecord;
    try {
      context = await this.read(caller, { conversationId: null, leafId: userMessage.id, historyLimit });
    } catch (error) {
      return this.failReply(caller, reply, error);
    }
    return { userMessage, reply, context, recalled: recalling && (await recalling) };
  }

  /** Writes a turn, its recall (when asked for) searched beside the write and left running. */
  private async write(
    caller: Caller,
    input: TurnMessage,
    replyModel: string,
    recall: TurnRecall | null,
    expectedSettings: string | null,
  ): Promise<{
    userMessage: MessageRecord;
    reply: MessageRecord;
    recalling: Promise<SearchHitRecord[]> | null;
  }> {
    traceTurn('conversation.turn-received', caller.requestId);
    const recalling = this.recallBeside(caller, input, recall);
    const written = await this.messages.appendTurn(caller, input, replyModel, expectedSettings);
    traceTurn('conversation.turn-written', caller.requestId);
    return { ...written, recalling };
  }

  /** A written turn whose context could not be read: nothing would ever finish its reply. */
  private async failReply(caller: Caller, reply: MessageRecord, error: unknown): Promise<never> {
    await this.messages.update(caller, { id: reply.id, status: MessageStatus.FAILED }).catch(() => undefined);
    throw error;
  }

  /** Starts the recall a turn asks for, its arguments checked before anything is written. */
  private recallBeside(
    caller: Caller,
    input: TurnMessage,
    recall: TurnRecall | null,
    switchRead?: Promise<boolean>,
  ): Promise<SearchHitRecord[]> | null {
    if (!recall) return null;
    requireService(caller);
    const { first, budgetMs } = recall;
    if (!Number.isInteger(budgetMs) || budgetMs < 1 || budgetMs > MAX_RECALL_BUDGET_MS) {
      throw badUserInput('recall.budgetMs', `recall.budgetMs must be between 1 and ${MAX_RECALL_BUDGET_MS}`);
    }
    const deadline = Date.now() + budgetMs;
    return this.search.recallFor(
      caller,
      input.content,
      input.conversationId ?? null,
      first,
      deadline,
      switchRead,
    );
  }

  async read(caller: Caller, query: TurnQuery): Promise<TurnContextRecord> {
    requireService(caller);
    const { userId: ownerId } = requireUser(caller);
    checkPageSize(query.historyLimit, 'historyLimit');
    if (query.leafId !== null && !isUuid(query.leafId)) throw notFound('Message');
    if (query.leafId === null && query.conversationId !== null && !isUuid(query.conversationId)) {
      throw notFound('Conversation');
    }
    const stored = await this.context.repositories.turns.context(
      ownerId,
      query.conversationId !== null && isUuid(query.conversationId) ? query.conversationId : null,
      query.leafId,
      query.historyLimit,
    );
    const { leaf, conversation } = stored;
    if (query.leafId !== null && !leaf) throw notFound('Message');
    if (!conversation && (leaf || query.conversationId !== null)) throw notFound('Conversation');
    if (leaf && query.conversationId !== null && leaf.conversationId !== query.conversationId) {
      throw notFound('Message');
    }
    // Read for the owner: what the answer selects of them (each message's conversation and parent)
    // needs no read of its own.
    const { loaders } = this.context;
    if (conversation) loaders.conversation.prime(conversation.id, conversation);
    for (const message of stored.beforeHistory ? [stored.beforeHistory, ...stored.history] : stored.history) {
      loaders.message.prime(message.id, { ...message, ownerId });
    }
    const settings = conversation?.settings ?? DEFAULT_CONVERSATION_SETTINGS;
    return {
      conversationId: conversation?.id ?? null,
      settings,
      instructions: settings.instructionsEnabled ? (stored.instructions ?? NO_INSTRUCTIONS) : null,
      memories: stored.memories,
      recallEnabled: stored.recallEnabled ?? true,
      history: stored.history,
    };
  }
}
