import { AppError } from '../../../common/errors/errors';
import type { Logger } from '../../../common/logging/logger';
import { traceTurn } from '../../../common/logging/turn-trace';
import type { UserCaller } from '../../../common/identity/caller';
import { settlesWithin } from '../../../common/util/timeout';
import type { ConversationClient } from '../clients/conversation.client';
import { type RecallHit, type StoredMessage, UNTITLED_CONVERSATION } from '../records/message.record';
import {
  type FinalStatus,
  type GenerationRecord,
  GenerationStatus,
  type TokenUsage,
} from '../records/generation.record';
import { estimateMessageTokens, estimateTokens } from './token-estimate';
import { type ChatProvider, ProviderError, providerErrors } from '../providers/provider';
import type { QuotaService } from '../services/quota.service';
import type { GenerationRepository } from '../repositories/generation.repository';
import {
  EventLogConflict,
  type GenerationEventRepository,
} from '../repositories/generation-event.repository';
import { type GenerationEvent, GenerationEventType, terminalEvent } from '../streams/generation-event';
import { EventStoreUnavailable, GenerationStreamWriter } from '../streams/stream-writer';
import type { GenerationStreamHub, OwnedStream } from '../streams/stream-hub';
import type { TokenEventPacing } from '../streams/token-pacing';
import { backoffDelay, sleep } from '../support/sleep';
import { LeaseKeeper } from './lease-keeper';
import { buildPrompt, type Prompt } from './prompt';
import type { TitleGenerator } from './title';
import type { ReplySettings } from '../records/turn-context.record';

export interface RunnerSettings {
  /** The deployment's output limit: no reply's own may exceed it (the event stream is sized by it). */
  maxOutputTokens: number;
  checkpointIntervalMs: number;
  leaseMs: number;
  /** How long a finished reply retries its save (and the end of its stream) before leaving it to recovery. */
  finalSaveDeadlineMs: number;
}

export interface RunnerDependencies {
  provider: ChatProvider;
  conversations: ConversationClient;
  generations: GenerationRepository;
  events: GenerationEventRepository;
  quotas: QuotaService;
  titles: TitleGenerator;
  settings: RunnerSettings;
  logger: Logger;
  /** This process's subscribers: they get each event from the writer, not from Redis (see own). */
  streams: Pick<GenerationStreamHub, 'own'>;
  /** The interval between a reply's token events, shared by every reply this process streams. */
  pacing: TokenEventPacing;
}

export interface GenerationJob {
  generation: GenerationRecord;
  /** The owner, on whose behalf the conversation subgraph is called. */
  caller: UserCaller;
  /**
   * The branch the reply is written on, oldest first, ending with the message it answers: read
   * with the rest of the turn before the reply was started, so the runner fetches no history.
   */
  history: StoredMessage[];
  /** The conversation's settings for this reply, over the deployment's defaults. */
  reply: ReplySettings;
  /** The recall for the prompt, started with the turn (see Recall); nothing when recall is off. */
  recalled: Promise<RecallHit[]>;
}

/** Why a generation was aborted from outside: a user's stop, or this process shutting down. */
export class GenerationAbort extends Error {
  override name = 'GenerationAbort';
  constructor(readonly kind: 'stopped' | 'shutdown') {
    super(kind === 'stopped' ? 'Stopped on request' : 'The chat service shut down while writing this reply');
  }
}

type Outcome = { status: FinalStatus; error: string | null };
type SaveResult = 'settled' | 'timeout' | 'fenced';

/** `Generation.error` when Redis stayed away longer than the lease while the reply was written. */
export const EVENT_STORE_LOST_MESSAGE =
  'The chat service lost its connection to Redis while writing this reply';
const UNEXPECTED_FAILURE_MESSAGE = 'Something went wrong while writing this reply';

/** Events a generation may write besides its tokens: START, USAGE and the terminal one. */
const FRAMING_EVENTS = 3;
const SAVE_RETRY_BASE_MS = 250;
const SAVE_RETRY_MAX_MS = 5_000;

/** The longest event stream a generation can write with these settings (the stream's MAXLEN). */
export const maxEventsPerGeneration = (maxOutputTokens: number) => maxOutputTokens + FRAMING_EVENTS;

/** Worth trying again: the conversation subgraph (or what is behind it) is away, or the failure is unknown. */
const isRetryable = (error: unknown) => !(error instanceof AppError) || error.code === 'UPSTREAM_UNAVAILABLE';

/** Runs generations: one GenerationRun per job. */
export class GenerationRunner {
  constructor(private readonly deps: RunnerDependencies) {}

  run(job: GenerationJob, signal: AbortSignal): Promise<void> {
    return new GenerationRun(this.deps, job, signal).execute();
  }
}

/**
 * One generation from START to its terminal event: builds the prompt, streams the provider's
 * reply into the event log token by token (a token is part of the reply once Redis acknowledged
 * its event), checkpoints the content to the conversation subgraph every CHECKPOINT_INTERVAL_MS
 * while a LeaseKeeper renews its lease on a timer of its own, then saves the final message (the
 * source of truth) before writing the last events, so a client that sees DONE reads the saved reply.
 */
class GenerationRun {
  /** This run's own copy, kept current: written whole when Redis lost it, and at the end. */
  private readonly record: GenerationRecord;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readonly writer: GenerationStreamWriter;
  /** Handed back to the hub's reads once this run writes no more, or another writes instead. */
  private readonly stream: OwnedStream;
  private readonly lease: LeaseKeeper;
  /** Recovery took the generation over: this run writes nothing more. */
  private fenced = false;
  private tokenEvents = 0;
  /** Redis acknowledged the reply's first token. */
  private tokenAppended = false;
  private checkpointedContent = '';
  /** The content the final save stored; null until it did. */
  private savedContent: string | null = null;
  /** The title the final save carries: the first exchange's, when it costs no model call. */
  private titleInSave: string | null = null;
  /** A save carrying `titleInSave` landed: the conversation is named (or already was). */
  private titleSaved = false;
  private reportedUsage: TokenUsage | null = null;
  private prompt: Prompt | null = null;
  private userMessage: StoredMessage | null = null;
  private checkpoint: Promise<void> | null = null;
  /** What went into the prompt, when there is anything to show: recorded with the first token. */
  private contextToRecord: GenerationRecord['context'] | null = null;
  /** When the reply stopped streaming: the save deadline runs from then. */
  private streamEndedAt = 0;

  constructor(
    private readonly deps: RunnerDependencies,
    private readonly job: GenerationJob,
    signal: AbortSignal,
  ) {
    this.record = { ...job.generation };
    this.logger = deps.logger.child({ generationId: this.record.id });
    this.stream = deps.streams.own(this.record.id);
    this.writer = new GenerationStreamWriter(deps.events, this.record.id, {
      retryWindowMs: deps.settings.leaseMs,
      tokenEventIntervalMs: () => deps.pacing.intervalMs(),
      onAcknowledged: (events) => this.onAcknowledged(events),
    });
    this.lease = new LeaseKeeper(
      {
        generations: deps.generations,
        quotas: deps.quotas,
        record: this.record,
        leaseMs: deps.settings.leaseMs,
        logger: this.logger,
      },
      {
        // The pub/sub stop signal can be missed (a reconnect); the flag the renewal reads cannot.
        stopRequested: () => this.abort.abort(new GenerationAbort('stopped')),
        fenced: () => {
          this.fenced = true;
          this.stream.release();
          this.abort.abort(new EventLogConflict('recovery took this generation over', true));
        },
        lost: () => this.restore(),
      },
    );
    if (signal.aborted) this.abort.abort(signal.reason);
    else signal.addEventListener('abort', () => this.abort.abort(signal.reason), { once: true });
  }

  async execute(): Promise<void> {
    this.lease.start();
    let outcome: Outcome | null;
    try {
      outcome = await this.write();
      if (outcome) await this.finish(outcome);
    } finally {
      this.stream.release();
      await this.lease.stop();
    }
    if (
      outcome?.status === GenerationStatus.COMPLETE &&
      !this.fenced &&
      !this.titleSaved &&
      this.isFirstExchange()
    ) {
      await this.nameConversation();
    }
  }

  /** Streams the reply; returns how it ended, or null when recovery took the generation over. */
  private async write(): Promise<Outcome | null> {
    const checkpoints = setInterval(() => this.onCheckpoint(), this.deps.settings.checkpointIntervalMs);
    try {
      // Not waited for: the prompt is built and the provider called while Redis takes START, and
      // the first token follows it in the writer's queue. Should the append fail, the first token's
      // enqueue (or the flush) reports it.
      this.writer.enqueue({ type: GenerationEventType.START, model: this.record.model });
      await this.preparePrompt();
      await this.streamReply();
      return this.writer.text().trim()
        ? { status: GenerationStatus.COMPLETE, error: null }
        : { status: GenerationStatus.FAILED, error: providerErrors.empty().message };
    } catch (error) {
      if (error instanceof EventLogConflict || this.fenced) {
        this.logger.warn({ err: error }, 'generation was settled elsewhere; this run ends');
        return null;
      }
      return this.outcomeOf(error);
    } finally {
      clearInterval(checkpoints);
      this.streamEndedAt = Date.now();
    }
  }

  private async preparePrompt(): Promise<void> {
    const { history, reply } = this.job;
    // A turn that created its conversation searched all of the user's: its own is left out here.
    const recalled = (await this.job.recalled).filter(
      (hit) => hit.message.conversation.id !== this.record.conversationId,
    );
    traceTurn('chat.recall-done', this.record.id);
    this.userMessage = history.at(-1) ?? null;
    this.prompt = buildPrompt({
      systemPrompt: reply.systemPrompt,
      instructions: reply.instructions,
      memories: reply.memories,
      history,
      recalled,
      model: this.record.model,
      contextTokens: reply.contextTokens,
      maxOutputTokens: reply.maxOutputTokens,
      temperature: reply.temperature,
      topP: reply.topP,
    });
    const { context } = this.prompt;
    // Written with the first token's time (one write, and none before the provider is called); the
    // final record carries it in any case.
    if (context.instructions || context.memories.length > 0 || context.recalled.length > 0) {
      this.record.context = context;
      this.contextToRecord = context;
    }
  }

  /**
   * Streams the provider's reply into the event log. Tokens go through the writer's queue: those
   * that arrive while an append is in flight leave together in the next one (see
   * GenerationStreamWriter.enqueue), and whatever is queued when the reply ends or fails is still
   * appended before the outcome is decided.
   */
  private async streamReply(): Promise<void> {
    const maxTokenEvents = this.deps.settings.maxOutputTokens;
    traceTurn('chat.provider-called', this.record.id);
    const chunks = this.deps.provider.stream((this.prompt as Prompt).request, this.abort.signal);
    const streamed = this.deps.pacing.begin();
    try {
      for await (const chunk of chunks) {
        if (chunk.kind === 'finish') continue;
        if (chunk.kind === 'usage') {
          this.reportedUsage = { ...chunk, estimated: false };
          continue;
        }
        if (this.tokenEvents === 0) this.onFirstToken();
        this.writer.enqueue({ type: GenerationEventType.TOKEN, delta: chunk.text });
        // Each event carries at least one token, so a provider keeping to maxOutputTokens never
        // gets here; one that does not is cut off rather than let the stream outgrow its bound.
        if (++this.tokenEvents >= maxTokenEvents) break;
      }
    } catch (error) {
      // The tokens already received are part of the reply if Redis takes them.
      await this.writer.flush().catch(() => undefined);
      throw error;
    } finally {
      streamed();
    }
    await this.writer.flush();
  }

  private onFirstToken(): void {
    traceTurn('chat.first-token-received', this.record.id);
    this.record.firstTokenAt = new Date();
    const { id, firstTokenAt } = this.record;
    this.deps.generations.recordFirstToken(id, firstTokenAt, this.contextToRecord).catch((error: Error) => {
      this.logger.warn({ err: error }, 'could not record the first token time');
    });
  }

  private onAcknowledged(events: readonly GenerationEvent[]): void {
    if (!this.tokenAppended && events.some((event) => event.type === GenerationEventType.TOKEN)) {
      this.tokenAppended = true;
      traceTurn('chat.first-token-appended', this.record.id);
    }
    this.stream.deliver(events);
  }

  /** A provider's failure is FAILED; anything the platform caused is INTERRUPTED, with a reason. */
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
    if (error instanceof EventStoreUnavailable) {
      this.logger.warn({ err: error }, 'Redis stayed away; the reply ends here');
      return { status: GenerationStatus.INTERRUPTED, error: EVENT_STORE_LOST_MESSAGE };
    }
    if (error instanceof AppError) {
      this.logger.warn({ code: error.code, err: error }, 'generation failed');
      return { status: GenerationStatus.INTERRUPTED, error: error.message };
    }
    this.logger.error({ err: error }, 'generation failed unexpectedly');
    return { status: GenerationStatus.INTERRUPTED, error: UNEXPECTED_FAILURE_MESSAGE };
  }

  /**
   * Ends the generation in the order a client relies on: by the time it sees the terminal event,
   * the reply is saved, the usage counted, and its quota and conversation slots are free again.
   * The save is retried until FINAL_SAVE_DEADLINE_MS (the lease, and so subscribers' heartbeats,
   * go on meanwhile); past it the generation is handed to recovery, which ends its subscribers
   * with a retryable error at once and saves it when the conversation subgraph is back.
   */
  private async finish({ status, error }: Outcome): Promise<void> {
    const usage = this.reportedUsage ?? this.estimatedUsage();
    Object.assign(this.record, { status, error, usage, finishedAt: new Date() });
    const deadline = this.streamEndedAt + this.deps.settings.finalSaveDeadlineMs;
    if (status === GenerationStatus.COMPLETE && this.isFirstExchange()) {
      this.titleInSave = this.deps.titles.immediateTitle((this.userMessage as StoredMessage).content);
    }
    // A checkpoint in flight should land before the final save; one that lands after it (a hung
    // database) changes nothing, since the conversation subgraph keeps a final message's content.
    if (this.checkpoint) await this.beforeDeadline(this.checkpoint, deadline);
    // What the stream holds is what subscribers read: settle an append left in doubt first (with
    // none, the stream holds what the writer counted, or the DONE append finds what Redis lost).
    if (this.writer.inDoubt) await this.writer.repair().catch(() => undefined);
    const saved = await this.saveUntil(deadline);
    if (saved === 'timeout') return this.handOver(usage);
    if (saved === 'settled') await this.endUntil(deadline, usage);
  }

  /**
   * The final content, status and token counts, retried with jittered backoff until `deadline`;
   * an attempt still waiting then (a stopped database) is not waited for.
   */
  private async saveUntil(deadline: number): Promise<SaveResult> {
    for (let attempt = 0; ; attempt++) {
      if (this.fenced) return 'fenced';
      try {
        if (!(await this.beforeDeadline(this.saveMessage(), deadline))) return 'timeout';
        return 'settled';
      } catch (error) {
        if (!isRetryable(error)) {
          // Deleted, or already final: there is nothing (more) to save.
          this.logger.warn({ err: error }, 'the reply cannot be saved');
          return 'settled';
        }
        const delay = backoffDelay(attempt, SAVE_RETRY_BASE_MS, SAVE_RETRY_MAX_MS);
        this.logger.warn({ err: error, attempt: attempt + 1 }, 'could not save the reply');
        // A process shutting down leaves the save to recovery on another replica rather than wait.
        if (Date.now() + delay > deadline || this.shuttingDown()) return 'timeout';
        await sleep(delay);
      }
    }
  }

  private shuttingDown(): boolean {
    const reason: unknown = this.abort.signal.reason;
    return reason instanceof GenerationAbort && reason.kind === 'shutdown';
  }

  /** Whether `work` settled before `deadline` (rejecting as it does); it goes on regardless. */
  private async beforeDeadline(work: Promise<void>, deadline: number): Promise<boolean> {
    try {
      return await settlesWithin(work, Math.max(0, deadline - Date.now()));
    } finally {
      work.catch(() => undefined);
    }
  }

  private async saveMessage(): Promise<void> {
    const content = this.writer.text();
    const usage = this.record.usage as TokenUsage;
    await this.deps.conversations.updateMessage(this.job.caller, {
      id: this.record.messageId,
      content,
      status: this.record.status as FinalStatus,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      ...(this.titleInSave === null ? {} : { conversationTitle: this.titleInSave }),
    });
    this.savedContent = content;
    this.titleSaved = this.titleInSave !== null;
  }

  /**
   * Writes the end to Redis, retried until `deadline`: the record (whole, should Redis have lost
   * it), the usage (counted once) and the freed slots, then USAGE and the terminal event. Past the
   * deadline the generation stays unsettled and recovery ends it once its lease has run out.
   */
  private async endUntil(deadline: number, usage: TokenUsage): Promise<void> {
    const { generations, quotas } = this.deps;
    const { userId, id, conversationId } = this.record;
    let usageRecorded = false;
    for (let attempt = 0; ; attempt++) {
      if (this.fenced) return;
      try {
        // An append still in doubt (Redis was away for the repair before the save) is settled
        // now; the DONE append below finds a stream Redis shortened anyway (and appends what it lost).
        if (this.writer.inDoubt) await this.writer.repair();
        // The repair adopted an append that Redis took but never confirmed: save that text too.
        if (this.savedContent !== null && this.savedContent !== this.writer.text()) {
          await this.saveMessage().catch((error: unknown) => {
            if (isRetryable(error)) throw error;
          });
        }
        // Side by side, in one round trip: none depends on another, each may be written again.
        await Promise.all([
          generations.finish(this.record),
          usageRecorded || quotas.record(userId, usage).then(() => (usageRecorded = true)),
          quotas.release(userId, id),
          generations.releaseConversation(conversationId, userId, id),
        ]);
        await this.writer.append([
          { type: GenerationEventType.USAGE, ...usage },
          terminalEvent(this.record.status as FinalStatus, this.record.error),
        ]);
        break;
      } catch (error) {
        if (error instanceof EventLogConflict) {
          this.logger.warn({ err: error }, 'generation was settled elsewhere meanwhile');
          return;
        }
        const delay = backoffDelay(attempt, SAVE_RETRY_BASE_MS, SAVE_RETRY_MAX_MS);
        if (Date.now() + delay > deadline) {
          this.logger.error(
            { err: error },
            'could not write the end of the generation; recovery will once its lease runs out',
          );
          return;
        }
        await sleep(delay);
      }
    }
    // Left listed, recovery finds the message saved and the stream ended, and just unlists it.
    await generations.markSettled(id).catch(() => undefined);
  }

  /** Past the save deadline: the reply as it ended goes to recovery, and its subscribers are let go. */
  private async handOver(usage: TokenUsage): Promise<void> {
    this.logger.warn('the reply could not be saved in time; recovery saves it when it can');
    try {
      await this.deps.generations.finish(this.record);
      await this.deps.quotas.record(this.record.userId, usage);
      await this.deps.generations.release(this.record.id);
    } catch (error) {
      this.logger.error(
        { err: error },
        'could not hand the generation to recovery; it takes it once its lease runs out',
      );
    }
  }

  /** Redis lost the generation (restarted without its data): write it back from this run's memory. */
  private async restore(): Promise<void> {
    this.logger.warn('Redis lost this generation; writing it back');
    await this.deps.generations.restore(this.record, this.deps.settings.leaseMs);
    await this.writer.repair();
  }

  private onCheckpoint(): void {
    this.checkpoint ??= this.saveCheckpoint().finally(() => {
      this.checkpoint = null;
    });
  }

  /** The content so far, as Redis acknowledged it; a failure waits for the next checkpoint. */
  private async saveCheckpoint(): Promise<void> {
    const content = this.writer.text();
    if (content === this.checkpointedContent) return;
    try {
      await this.deps.conversations.updateMessage(this.job.caller, { id: this.record.messageId, content });
      this.checkpointedContent = content;
    } catch (error) {
      this.logger.warn({ err: error }, 'checkpoint failed; the next one retries');
    }
  }

  private estimatedUsage(): TokenUsage {
    const request = this.prompt?.request;
    const promptTokens = request
      ? estimateTokens(request.system) +
        request.messages.reduce((sum, message) => sum + estimateMessageTokens(message.content), 0)
      : 0;
    return { promptTokens, completionTokens: estimateTokens(this.writer.text()), estimated: true };
  }

  /** The conversation's first user message got its first reply, and nobody has named it yet. */
  private isFirstExchange(): boolean {
    return (
      this.userMessage !== null &&
      this.userMessage.parentId === null &&
      this.userMessage.conversation.title === UNTITLED_CONVERSATION
    );
  }

  /** Names the conversation after the save, when its title needed a model call (or the save did not land). */
  private async nameConversation(): Promise<void> {
    const userMessage = this.userMessage as StoredMessage;
    try {
      const title = await this.deps.titles.title(userMessage.content, this.writer.text());
      await this.deps.conversations.updateMessage(this.job.caller, {
        id: this.record.messageId,
        conversationTitle: title,
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'could not title the conversation');
    }
  }
}
