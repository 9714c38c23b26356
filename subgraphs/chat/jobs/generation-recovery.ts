import { AppError } from '../../../common/errors/errors';
import type { Logger } from '../../../common/logging/logger';
import type { UserCaller } from '../../../common/identity/caller';
import type { ConversationClient } from '../clients/conversation.client';
import {
  type FinalStatus,
  type GenerationRecord,
  GenerationStatus,
  isFinal,
} from '../records/generation.record';
import type { QuotaService } from '../services/quota.service';
import type { GenerationRepository } from '../repositories/generation.repository';
import type { GenerationEventRepository } from '../repositories/generation-event.repository';
import {
  type GenerationEvent,
  GenerationEventType,
  isTerminal,
  type NewEvent,
  terminalEvent,
} from '../streams/generation-event';

export interface RecoveryDependencies {
  generations: GenerationRepository;
  events: GenerationEventRepository;
  conversations: ConversationClient;
  quotas: QuotaService;
  leaseMs: number;
  /** How often the STREAMING messages are checked against Redis again, after the first time at start. */
  reconcileIntervalMs: number;
  /** Generations this process runs are never settled by it, however late their heartbeat. */
  isRunningHere: (generationId: string) => boolean;
  logger: Logger;
}

export const INTERRUPTED_MESSAGE = 'The chat service stopped unexpectedly while writing this reply';
const SWEEP_BATCH = 50;
/**
 * Leases a STREAMING message may go without a generation: the time from the message written to
 * its generation stored is a few milliseconds in a live process, so one older than this has lost it.
 */
const ORPHAN_AFTER_LEASES = 2;

/**
 * Settles what a crashed process left behind. Every generation is "unsettled" from its start
 * until its final message is saved; its process renews a lease on it while it runs. A sweep
 * (every replica, every RECOVERY_INTERVAL_MS) claims the ones whose lease ran out and settles
 * them: a generation still STREAMING becomes INTERRUPTED, with the reply as far as its event
 * stream got, and an ERROR event that ends its subscribers; one that had ended but was not saved
 * is saved. Settling first fences the generation, so a process that was merely slow, not dead,
 * finds its next append refused and stops; the message is saved before the terminal event is
 * written, so a subscriber that sees the end reads the saved reply.
 */
export class GenerationRecovery {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  /** When reconcileMessages is due again (0: at the next sweep). */
  private reconcileDueAt = 0;

  constructor(private readonly deps: RecoveryDependencies) {}

  /**
   * Starts the periodic sweep; the first one runs at once. Each sweep first reconciles the STREAMING
   * messages when that is due: at start, until it succeeds once (the conversation subgraph may come
   * up after this one), then every `reconcileIntervalMs`, since Redis can lose generations while
   * this process runs.
   */
  start(intervalMs: number): void {
    const run = () => {
      this.sweeping ??= this.reconcileWhenDue()
        .then(() => this.sweep())
        .catch((error: Error) => this.deps.logger.warn({ err: error }, 'recovery sweep failed'))
        .finally(() => (this.sweeping = null));
    };
    run();
    this.timer = setInterval(run, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  private async reconcileWhenDue(): Promise<void> {
    if (Date.now() < this.reconcileDueAt) return;
    try {
      await this.reconcileMessages();
      this.reconcileDueAt = Date.now() + this.deps.reconcileIntervalMs;
    } catch (error) {
      this.deps.logger.warn(
        { err: error },
        'could not check the conversation subgraph for interrupted replies; trying again at the next sweep',
      );
    }
  }

  /** Settles every abandoned generation it can claim; returns how many it settled. */
  async sweep(): Promise<number> {
    let settled = 0;
    for (;;) {
      // Claimed ids are pushed a lease ahead: a failed settle is retried by a later sweep.
      const ids = await this.deps.generations.claimAbandoned(SWEEP_BATCH, this.deps.leaseMs);
      for (const id of ids) {
        if (this.deps.isRunningHere(id)) continue;
        try {
          if (await this.settle(id)) settled++;
        } catch (error) {
          this.deps.logger.warn({ generationId: id, err: error }, 'could not settle generation');
        }
      }
      if (ids.length < SWEEP_BATCH) return settled;
    }
  }

  /**
   * Every message the conversation subgraph still has as STREAMING must belong to an unsettled
   * generation, or nothing would ever finish it. Any whose generation Redis no longer lists as
   * unsettled is listed again (without touching a live lease) and the sweep settles it. One with no
   * generation at all, older than ORPHAN_AFTER_LEASES leases (Redis lost its data and the process
   * that wrote it is gone, or the process died between writing the message and its generation),
   * is ended as INTERRUPTED with the content its last checkpoint saved. Returns how many it listed
   * again and how many it interrupted.
   */
  async reconcileMessages(): Promise<{ requeued: number; interrupted: number }> {
    const messages = await this.deps.conversations.streamingMessages('chat-recovery');
    const orphanBefore = Date.now() - ORPHAN_AFTER_LEASES * this.deps.leaseMs;
    let requeued = 0;
    let interrupted = 0;
    for (const message of messages) {
      const record = await this.deps.generations.findByMessage(message.id);
      if (record) {
        if (await this.deps.generations.trackUnsettled(record.id)) requeued++;
        continue;
      }
      if (message.createdAt.getTime() > orphanBefore) continue;
      await this.deps.conversations.interruptMessage('chat-recovery', message.id);
      interrupted++;
      this.deps.logger.warn(
        { messageId: message.id, conversationId: message.conversation.id },
        'a STREAMING message had no generation left; it is INTERRUPTED with the content it has',
      );
    }
    return { requeued, interrupted };
  }

  private async settle(id: string): Promise<boolean> {
    const { generations, events, quotas } = this.deps;
    if (!(await generations.get(id))) {
      await generations.markSettled(id);
      return false;
    }
    await events.fence(id);
    // Read again behind the fence: nothing can be appended or finished by its process any more.
    const record = (await generations.get(id)) as GenerationRecord;
    const wasFinal = isFinal(record.status);
    const status = await this.saveMessage(
      record,
      wasFinal ? (record.status as FinalStatus) : GenerationStatus.INTERRUPTED,
    );
    const error = wasFinal
      ? record.error
      : status === GenerationStatus.INTERRUPTED
        ? INTERRUPTED_MESSAGE
        : null;
    const settled = wasFinal ? record : { ...record, status, finishedAt: new Date(), error };
    if (!wasFinal) await generations.finish(settled);
    await this.endEventStream(settled);
    await Promise.all([
      quotas.release(record.userId, id),
      generations.releaseConversation(record.conversationId, record.userId, id),
    ]);
    await generations.markSettled(id);
    this.deps.logger.info({ generationId: id, status }, 'settled an abandoned generation');
    return true;
  }

  /**
   * Saves the reply as far as the event stream has it (or, if the stream has expired, leaves
   * the last checkpoint) with `status`. Returns the status the message ends with: `status`, or
   * the one it already had when its process saved it and died before recording so.
   */
  private async saveMessage(record: GenerationRecord, status: FinalStatus): Promise<FinalStatus> {
    const { conversations, events } = this.deps;
    // Chat itself, for the owner: the conversation subgraph updates a message only on its owner's behalf.
    const caller: UserCaller = {
      userId: record.userId,
      role: null,
      sessionId: null,
      requestId: `chat-recovery:${record.id}`,
      issuer: 'chat',
      service: 'chat',
    };
    const content = await events.replyText(record.id);
    try {
      await conversations.updateMessage(caller, {
        id: record.messageId,
        status,
        ...(content === null ? {} : { content }),
        ...(record.usage
          ? { promptTokens: record.usage.promptTokens, completionTokens: record.usage.completionTokens }
          : {}),
      });
      return status;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // Deleted meanwhile: there is nothing left to save.
      if (error.code === 'NOT_FOUND') return status;
      if (error.code !== 'BAD_USER_INPUT') throw error;
      const [message] = await conversations.messagePath(caller, record.messageId, 1);
      return message && message.status !== 'STREAMING' ? GenerationStatus[message.status] : status;
    }
  }

  /**
   * Ends the event stream with the terminal event its subscribers are waiting for, if it lacks one,
   * after the USAGE its process had recorded (a generation handed over past its save deadline).
   */
  private async endEventStream(record: GenerationRecord): Promise<void> {
    const last = await this.deps.events.last(record.id);
    if (last && isTerminal(last)) return;
    const ending: NewEvent[] = [terminalEvent(record.status as FinalStatus, record.error)];
    if (record.usage) ending.unshift({ type: GenerationEventType.USAGE, ...record.usage });
    const previousSeq = last?.seq ?? 0;
    const events = ending.map((event, i) => ({ ...event, seq: previousSeq + i + 1 }) as GenerationEvent);
    await this.deps.events.append(record.id, previousSeq, events, { asRecovery: true });
  }
}
