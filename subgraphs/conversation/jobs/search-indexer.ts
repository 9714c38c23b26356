import type { Logger } from '../../../common/logging/logger';
import { MessageStatus } from '../records/message.record';
import { type DueEntries, type OutboxEntry, OutboxOperation } from '../records/search-outbox.record';
import type { Repositories } from '../repositories';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import type { VectorIndexRepository, MessageVector } from '../repositories/vector-index.repository';

export interface SearchIndexerOptions {
  batchSize: number;
  /** How often to look for due entries when nothing wakes the indexer sooner. */
  pollMs: number;
  /**
   * How long a wake waits before its round starts, so that the writes of that moment (a user's
   * message and the replies finishing beside it) share one round: one transaction, one embedding
   * call and one Chroma upsert instead of one each. A batch's worth of wakes meanwhile starts it
   * at once.
   */
  wakeDelayMs: number;
  /** The longest wait before a failed entry is retried; the wait doubles up to it. */
  maxBackoffMs: number;
  logger: Logger;
}

const FIRST_RETRY_MS = 250;

/** Exponential backoff with jitter, so replicas coming back together do not retry in step. */
export function retryDelay(attempts: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, FIRST_RETRY_MS * 2 ** Math.min(attempts, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Applies the search outbox to Chroma in the background. Each round takes a batch of due entries
 * off the outbox in one transaction, with the messages they name as they are now in PostgreSQL,
 * and applies it (embed and upsert those messages, remove what is gone) before committing; if
 * Chroma or the embedding model fails, the transaction rolls back and the entries are put off
 * with backoff instead, and nothing is lost.
 */
export class SearchIndexer {
  private running: Promise<void> | undefined;
  private stopping = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private pendingWake: NodeJS.Timeout | undefined;
  /** Wakes since the last round was started by one. */
  private wakes = 0;
  private failing = false;

  constructor(
    /** Repositories over a new unit of work: one per round. */
    private readonly openRepositories: () => Repositories,
    private readonly embedding: EmbeddingModel,
    private readonly index: VectorIndexRepository,
    private readonly options: SearchIndexerOptions,
  ) {}

  start(): void {
    this.stopping = false;
    this.running ??= this.loop();
  }

  /**
   * Starts the next round soon, right after a write added entries: after `wakeDelayMs`, or at once
   * when as many writes as a round takes entries have woken it meanwhile (each adds at least one).
   */
  wake(): void {
    this.wakes += 1;
    if (this.options.wakeDelayMs === 0 || this.wakes >= this.options.batchSize) return this.wakeNow();
    this.pendingWake ??= setTimeout(() => this.wakeNow(), this.options.wakeDelayMs).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.pendingWake);
    this.pendingWake = undefined;
    this.stopping = true;
    this.wakeUp?.();
    await this.running;
    this.running = undefined;
  }

  /** Runs rounds until no entry is due; for the re-index command and tests. */
  async drain(): Promise<void> {
    let applied: number;
    do applied = await this.runOnce();
    while (applied > 0);
  }

  /** One round; returns how many entries were applied (0 when none was due, or it failed). */
  async runOnce(): Promise<number> {
    const repositories = this.openRepositories();
    if (!(await repositories.outbox.anyDue())) return 0;
    let entries: OutboxEntry[] = [];
    try {
      await repositories.withTransaction(async ({ outbox }) => {
        const due = await outbox.takeDue(this.options.batchSize);
        entries = due.entries;
        if (entries.length > 0) await this.apply(due);
      });
    } catch (error) {
      // Nothing taken: PostgreSQL itself failed, which the loop reports.
      if (entries.length === 0) throw error;
      // Rolled back, the entries are in the outbox again; they wait before the next attempt.
      const ids = entries.map((entry) => entry.id);
      const attempts = Math.max(...entries.map((entry) => entry.attempts)) + 1;
      const delay = retryDelay(attempts, this.options.maxBackoffMs);
      await repositories.outbox.postpone(ids, new Date(Date.now() + delay), String(error));
      const details = { err: error, entries: ids.length, retryInMs: delay };
      // One warning per outage; the retries that follow are only worth a debug line each.
      if (this.failing) this.options.logger.debug(details, 'search indexing failed again');
      else this.options.logger.warn(details, 'search indexing failed, will retry');
      this.failing = true;
      return 0;
    }
    if (entries.length === 0) return 0;
    if (this.failing) this.options.logger.info('search indexing recovered');
    this.failing = false;
    return entries.length;
  }

  private async apply({ entries, messages }: DueEntries): Promise<void> {
    const messageIds = [
      ...new Set(
        entries.flatMap(
          (entry) => (entry.operation === OutboxOperation.UPSERT_MESSAGE && entry.messageId) || [],
        ),
      ),
    ];
    const deletedConversations = [
      ...new Set(
        entries.flatMap((entry) =>
          entry.operation === OutboxOperation.DELETE_CONVERSATION ? entry.conversationId : [],
        ),
      ),
    ];
    const indexable = messages.filter(
      (message) => message.status !== MessageStatus.STREAMING && message.content.trim().length > 0,
    );
    const vectors = await this.embedding.embed(
      indexable.map((message) => message.content),
      'document',
    );
    const upserts: MessageVector[] = indexable.flatMap((message, i) => {
      const vector = vectors[i];
      return vector
        ? [
            {
              messageId: message.id,
              ownerId: message.ownerId,
              conversationId: message.conversationId,
              vector,
            },
          ]
        : [];
    });
    const indexed = new Set(upserts.map((upsert) => upsert.messageId));
    await this.index.upsert(upserts);
    // Gone, emptied, or meaningless to the model: whatever was indexed for it before goes.
    await this.index.removeMessages(messageIds.filter((id) => !indexed.has(id)));
    for (const conversationId of deletedConversations) await this.index.removeConversation(conversationId);
  }

  private wakeNow(): void {
    clearTimeout(this.pendingWake);
    this.pendingWake = undefined;
    this.wakes = 0;
    this.woken = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      let applied = 0;
      try {
        applied = await this.runOnce();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'search indexer round failed');
      }
      if (applied < this.options.batchSize && !this.woken && !this.stopping) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.options.pollMs);
      this.wakeUp = done;
    });
  }
}
