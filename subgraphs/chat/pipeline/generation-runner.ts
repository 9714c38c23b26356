import { AppError } from '../../../common/errors';
import type { Logger } from '../../../common/logger';
import { traceTurn } from '../../../common/turn-trace';
import {
  type Actor,
  type ConversationStore,
  type RecallHit,
  type StoredMessage,
  UNTITLED_CONVERSATION,
} from '../conversation/conversation-store';
import {
  type FinalStatus,
  type GenerationRecord,
  GenerationStatus,
  type TokenUsage,
} from '../domain/generation';
import { estimateMessageTokens, estimateTokens } from '../domain/token-estimate';
import { type ChatProvider, ProviderError, providerErrors } from '../providers/provider';
import type { QuotaService } from '../quotas/quota-service';
import type { GenerationRepository } from '../repositories/generation-repository';
import { EventLogConflict, type GenerationEventLog } from '../streams/event-log';
import {
  type GenerationEvent,
  GenerationEventType,
  type NewEvent,
  terminalEvent,
} from '../streams/generation-event';
import { backoffDelay, sleep } from '../support/sleep';
import { buildPrompt, type Prompt } from './prompt';
import type { TitleGenerator } from './title';

export interface RunnerSettings {
  systemPrompt: string;
  contextTokens: number;
  maxOutputTokens: number;
  temperature: number;
  historyMessages: number;
  recallEnabled: boolean;
  recallLimit: number;
  checkpointIntervalMs: number;
  leaseMs: number;
}

export interface RunnerDependencies {
  provider: ChatProvider;
  conversations: ConversationStore;
  generations: GenerationRepository;
  events: GenerationEventLog;
  quotas: QuotaService;
  titles: TitleGenerator;
  settings: RunnerSettings;
  logger: Logger;
}

export interface GenerationJob {
  generation: GenerationRecord;
  /** The owner, on whose behalf the conversation subgraph is called. */
  actor: Actor;
}

/** Why a generation was aborted from outside: a user's stop, or this process shutting down. */
export class GenerationAbort extends Error {
  override name = 'GenerationAbort';
  constructor(readonly kind: 'stopped' | 'shutdown') {
    super(kind === 'stopped' ? 'Stopped on request' : 'The chat service shut down while writing this reply');
  }
}

type Outcome = { status: FinalStatus; error: string | null };

/** Events a generation may write besides its tokens: START, USAGE and the terminal one. */
const FRAMING_EVENTS = 3;
const EVENT_APPEND_ATTEMPTS = 5;
const FINAL_SAVE_ATTEMPTS = 4;

/** The longest event stream a generation can write with these settings (the stream's MAXLEN). */
export const maxEventsPerGeneration = (maxOutputTokens: number) => maxOutputTokens + FRAMING_EVENTS;

/** Runs generations: one GenerationRun per job. */
export class GenerationRunner {
  constructor(private readonly deps: RunnerDependencies) {}

  run(job: GenerationJob, signal: AbortSignal): Promise<void> {
    return new GenerationRun(this.deps, job, signal).execute();
  }
}

/**
 * One generation from START to its terminal event: builds the prompt, streams the provider's
 * reply into the event log token by token, checkpoints the content to the conversation subgraph
 * and renews its lease every CHECKPOINT_INTERVAL_MS, then saves the final message (the source
 * of truth) before writing the last events, so a client that sees DONE reads the saved reply.
 */
class GenerationRun {
  private readonly record: GenerationRecord;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private seq = 0;
  private tokenEvents = 0;
  private content = '';
  private checkpointedContent = '';
  private reportedUsage: TokenUsage | null = null;
  private prompt: Prompt | null = null;
  private userMessage: StoredMessage | null = null;
  private beat: Promise<void> | null = null;

  constructor(
    private readonly deps: RunnerDependencies,
    private readonly job: GenerationJob,
    signal: AbortSignal,
  ) {
    this.record = job.generation;
    this.logger = deps.logger.child({ generationId: this.record.id });
    if (signal.aborted) this.abort.abort(signal.reason);
    else signal.addEventListener('abort', () => this.abort.abort(signal.reason), { once: true });
  }

  async execute(): Promise<void> {
    const heartbeat = setInterval(() => this.onHeartbeat(), this.deps.settings.checkpointIntervalMs);
    let outcome: Outcome;
    try {
      await this.emit([{ type: GenerationEventType.START, model: this.record.model }]);
      await this.preparePrompt();
      await this.streamReply();
      outcome = this.content.trim()
        ? { status: GenerationStatus.COMPLETE, error: null }
        : { status: GenerationStatus.FAILED, error: providerErrors.empty().message };
    } catch (error) {
      if (error instanceof EventLogConflict) {
        this.logger.warn({ err: error.message }, 'generation was settled elsewhere; this run ends');
        return;
      }
      outcome = this.outcomeOf(error);
    } finally {
      clearInterval(heartbeat);
      // A checkpoint still in flight must land before the final save, never after it.
      await this.beat;
    }
    await this.finish(outcome);
    if (outcome.status === GenerationStatus.COMPLETE && this.isFirstExchange()) await this.nameConversation();
  }

  private async preparePrompt(): Promise<void> {
    const { conversations, settings } = this.deps;
    const history = await conversations.messagePath(
      this.job.actor,
      this.record.parentMessageId,
      settings.historyMessages,
    );
    traceTurn('chat.history-fetched', this.record.id);
    this.userMessage = history[history.length - 1] ?? null;
    const recalled = await this.recall();
    traceTurn('chat.recall-done', this.record.id);
    this.prompt = buildPrompt({
      systemPrompt: settings.systemPrompt,
      history,
      recalled,
      model: this.record.model,
      contextTokens: settings.contextTokens,
      maxOutputTokens: settings.maxOutputTokens,
      temperature: settings.temperature,
    });
    if (this.prompt.recalled.length > 0) {
      this.record.context = this.prompt.recalled.map((hit) => ({
        messageId: hit.message.id,
        conversationId: hit.message.conversation.id,
        score: hit.score,
      }));
      await this.deps.generations.recordContext(this.record.id, this.record.context);
    }
  }

  /** Recall is a bonus: when search is down, the reply is written without it. */
  private async recall(): Promise<RecallHit[]> {
    const { settings, conversations } = this.deps;
    if (!settings.recallEnabled || !this.userMessage) return [];
    try {
      return await conversations.recallMessages(
        this.job.actor,
        this.userMessage.content,
        this.record.conversationId,
        settings.recallLimit,
      );
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'recall unavailable; replying without it');
      return [];
    }
  }

  private async streamReply(): Promise<void> {
    const maxTokenEvents = this.deps.settings.maxOutputTokens;
    traceTurn('chat.provider-called', this.record.id);
    const chunks = this.deps.provider.stream((this.prompt as Prompt).request, this.abort.signal);
    for await (const chunk of chunks) {
      if (chunk.kind === 'usage') {
        this.reportedUsage = { ...chunk, estimated: false };
        continue;
      }
      if (this.tokenEvents === 0) {
        traceTurn('chat.first-token-received', this.record.id);
        this.record.firstTokenAt = new Date();
        this.deps.generations
          .recordFirstToken(this.record.id, this.record.firstTokenAt)
          .catch((error: Error) => {
            this.logger.warn({ err: error.message }, 'could not record the first token time');
          });
      }
      this.content += chunk.text;
      await this.emit([{ type: GenerationEventType.TOKEN, delta: chunk.text }]);
      if (this.tokenEvents === 0) traceTurn('chat.first-token-appended', this.record.id);
      // Each event carries at least one token, so a provider keeping to maxOutputTokens never
      // gets here; one that does not is cut off rather than let the stream outgrow its bound.
      if (++this.tokenEvents >= maxTokenEvents) break;
    }
  }

  private outcomeOf(error: unknown): Outcome {
    const reason: unknown = this.abort.signal.aborted ? this.abort.signal.reason : null;
    if (reason instanceof GenerationAbort) {
      return reason.kind === 'stopped'
        ? { status: GenerationStatus.STOPPED, error: null }
        : { status: GenerationStatus.INTERRUPTED, error: reason.message };
    }
    if (error instanceof ProviderError) {
      this.logger.warn(
        { failure: error.failure, status: error.detail?.status, upstream: error.detail?.upstream },
        'model provider failed',
      );
      return { status: GenerationStatus.FAILED, error: error.message };
    }
    if (error instanceof AppError) {
      this.logger.warn({ code: error.code, err: error.message }, 'generation failed');
      return { status: GenerationStatus.FAILED, error: error.message };
    }
    this.logger.error({ err: error }, 'generation failed unexpectedly');
    return { status: GenerationStatus.FAILED, error: 'Something went wrong while writing this reply' };
  }

  /**
   * Ends the generation in the order a client relies on: by the time it sees the terminal event,
   * the reply is saved, the usage counted, and its quota and conversation slots are free again.
   */
  private async finish({ status, error }: Outcome): Promise<void> {
    const { generations, quotas } = this.deps;
    const { userId, id, conversationId } = this.record;
    const usage = this.reportedUsage ?? this.estimatedUsage();
    const saved = await this.saveFinal(status, usage);
    const cleanup = await Promise.allSettled([
      generations.finish(id, { status, finishedAt: new Date(), usage, error }),
      quotas.record(userId, usage),
      quotas.release(userId, id),
      generations.releaseConversation(conversationId, userId, id),
    ]);
    for (const result of cleanup) {
      if (result.status === 'rejected')
        this.logger.warn({ err: (result.reason as Error).message }, 'cleanup failed');
    }
    try {
      await this.emit([{ type: GenerationEventType.USAGE, ...usage }, terminalEvent(status, error)]);
    } catch (failure) {
      if (failure instanceof EventLogConflict) {
        this.logger.warn({ err: failure.message }, 'generation was settled elsewhere meanwhile');
      } else {
        // It stays unsettled: recovery writes the missing end once the lease runs out.
        this.logger.error({ err: (failure as Error).message }, 'could not write the end of the generation');
      }
      return;
    }
    if (saved) await generations.markSettled(id).catch(() => undefined);
  }

  /**
   * The final content and status, retried with backoff; when the conversation subgraph stays
   * away, the generation is left unsettled and recovery saves it later from the event stream.
   */
  private async saveFinal(status: FinalStatus, usage: TokenUsage): Promise<boolean> {
    for (let attempt = 0; attempt < FINAL_SAVE_ATTEMPTS; attempt++) {
      try {
        await this.deps.conversations.updateMessage(this.job.actor, {
          id: this.record.messageId,
          content: this.content,
          status,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
        });
        return true;
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, attempt: attempt + 1 }, 'could not save the reply');
        if (attempt + 1 < FINAL_SAVE_ATTEMPTS) await sleep(backoffDelay(attempt, 250));
      }
    }
    return false;
  }

  /** Appends events with the next seqs; transient Redis failures are retried, a conflict is not. */
  private async emit(events: NewEvent[]): Promise<void> {
    const previousSeq = this.seq;
    const numbered = events.map((event, i) => ({ ...event, seq: previousSeq + i + 1 }) as GenerationEvent);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.events.append(this.record.id, previousSeq, numbered);
        this.seq = previousSeq + numbered.length;
        return;
      } catch (error) {
        if (error instanceof EventLogConflict || attempt + 1 >= EVENT_APPEND_ATTEMPTS) throw error;
        await sleep(backoffDelay(attempt, 50));
      }
    }
  }

  private onHeartbeat(): void {
    this.beat ??= this.heartbeat().finally(() => {
      this.beat = null;
    });
  }

  private async heartbeat(): Promise<void> {
    const { generations, quotas, conversations, settings } = this.deps;
    try {
      const [stopRequested] = await Promise.all([
        generations.renewLease(this.record, settings.leaseMs),
        quotas.renew(this.record.userId, this.record.id),
      ]);
      // The pub/sub stop signal can be missed (a reconnect); the flag cannot.
      if (stopRequested) this.abort.abort(new GenerationAbort('stopped'));
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not renew the generation lease');
    }
    const content = this.content;
    if (content === this.checkpointedContent) return;
    try {
      await conversations.updateMessage(this.job.actor, { id: this.record.messageId, content });
      this.checkpointedContent = content;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'checkpoint failed; the next one retries');
    }
  }

  private estimatedUsage(): TokenUsage {
    const request = this.prompt?.request;
    const promptTokens = request
      ? estimateTokens(request.system) +
        request.messages.reduce((sum, message) => sum + estimateMessageTokens(message.content), 0)
      : 0;
    return { promptTokens, completionTokens: estimateTokens(this.content), estimated: true };
  }

  /** The conversation's first user message got its first reply, and nobody has named it yet. */
  private isFirstExchange(): boolean {
    return (
      this.userMessage !== null &&
      this.userMessage.parentId === null &&
      this.userMessage.conversation.title === UNTITLED_CONVERSATION
    );
  }

  private async nameConversation(): Promise<void> {
    const userMessage = this.userMessage as StoredMessage;
    try {
      const title = await this.deps.titles.title(userMessage.content, this.content);
      await this.deps.conversations.renameConversation(this.job.actor, this.record.conversationId, title);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not title the conversation');
    }
  }
}
