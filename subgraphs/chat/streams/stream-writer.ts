import { backoffDelay, sleep } from '../support/sleep';
import {
  EventLogConflict,
  type GenerationEventRepository,
  sameFields,
} from '../repositories/generation-event.repository';
import { encodeEvent, type GenerationEvent, GenerationEventType, type NewEvent } from './generation-event';

/** Redis did not take an append within the writer's retry window. */
export class EventStoreUnavailable extends Error {
  override name = 'EventStoreUnavailable';
}

/** Repairs in one append: Redis would have to lose its data again and again meanwhile. */
const MAX_REPAIRS = 3;

export interface StreamWriterOptions {
  /** How long an append is retried while Redis does not answer before EventStoreUnavailable. */
  retryWindowMs: number;
  /** Told each batch once Redis holds it, in order (GenerationStreamHub.own delivers them locally). */
  onAcknowledged?: (events: readonly GenerationEvent[]) => void;
  /**
   * The shortest time between two enqueued appends that carry tokens, asked before each one (none:
   * 0). Tokens enqueued sooner wait for it and leave as one TOKEN event, so a model that streams
   * faster than a client can show costs a few events a reply, not one per chunk; the first token
   * never waits. A function, so the interval can follow the process's load (TokenEventPacing).
   */
  tokenEventIntervalMs?: () => number;
}

/** Adjacent TOKEN events as one, their deltas joined: what a subscriber shows is the same text. */
export function joinTokens(events: readonly NewEvent[]): NewEvent[] {
  const joined: NewEvent[] = [];
  for (const event of events) {
    const last = joined.at(-1);
    if (event.type === GenerationEventType.TOKEN && last?.type === GenerationEventType.TOKEN) {
      joined[joined.length - 1] = { ...last, delta: last.delta + event.delta };
    } else {
      joined.push(event);
    }
  }
  return joined;
}

/**
 * The one writer of a generation's event stream. It numbers events, appends them with retries,
 * and keeps every event Redis acknowledged, so that:
 *
 * - the reply it reports (`text`) is exactly what a subscriber can have read: a token counts once
 *   its append is acknowledged, never before;
 * - when Redis loses entries it had acknowledged (restarted without its data, or with an
 *   append-only file a second behind), the writer finds the stream shorter than its own count and
 *   appends the lost entries again with the same seqs and fields;
 * - an append whose outcome stayed unknown (Redis went away before answering) and that Redis turns
 *   out to hold is adopted, not written twice.
 *
 * Operations run one at a time, so a repair never interleaves with an append.
 */
export class GenerationStreamWriter {
  private readonly written: GenerationEvent[] = [];
  /** The last batch whose append gave up without an answer: Redis may or may not hold it. */
  private uncertain: GenerationEvent[] | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Events enqueued while an append was in flight, to go out together in the next. */
  private pending: NewEvent[] = [];
  private draining: Promise<void> | null = null;
  /** Why an enqueued append failed: nothing more is enqueued after it. */
  private failure: unknown = null;
  /** When the last enqueued append that carried tokens left (0: none yet). */
  private lastTokensAt = 0;
  /** flush() was called: what is pending leaves without waiting for the token interval. */
  private hurry = false;
  /** Ends the wait for the token interval early (flush). */
  private wake: (() => void) | null = null;

  constructor(
    private readonly log: GenerationEventRepository,
    private readonly generationId: string,
    private readonly options: StreamWriterOptions,
  ) {}

  /** The seq of the last acknowledged event. */
  get seq(): number {
    return this.written.length;
  }

  /**
   * An append gave up without an answer, and no repair or later append has settled it: Redis may
   * hold it or not, so `text()` may lack what subscribers read. Otherwise the next append checks
   * the stream's top itself (and writes again what Redis lost), so a repair first reads nothing new.
   */
  get inDoubt(): boolean {
    return this.uncertain !== null;
  }

  /** The reply as far as Redis acknowledged it. */
  text(): string {
    return this.written
      .map((event) => (event.type === GenerationEventType.TOKEN ? event.delta : ''))
      .join('');
  }

  /**
   * Appends `events` with the next seqs, retrying while Redis does not answer for up to the retry
   * window (EventStoreUnavailable after it). Throws EventLogConflict when the generation was fenced
   * or someone else wrote to the stream.
   */
  append(events: NewEvent[]): Promise<void> {
    return this.serially(() => this.appendNow(events));
  }

  /**
   * Appends `event` as soon as possible: at once when no append is in flight and the token interval
   * has passed, else with every event enqueued meanwhile, in one append, adjacent tokens joined into
   * one event. A burst of tokens thus costs one Redis round trip and one event, not one each, and a
   * token still counts only once Redis acknowledged it. Throws the failure of an earlier enqueued
   * append (EventStoreUnavailable, EventLogConflict): the stream ends there.
   */
  enqueue(event: NewEvent): void {
    if (this.failure) throw this.failure;
    this.pending.push(event);
    this.draining ??= this.drainPending();
  }

  /**
   * Appends what is enqueued without waiting for the token interval, and resolves once every
   * enqueued event is acknowledged; throws if an append of them failed.
   */
  async flush(): Promise<void> {
    if (this.draining) {
      this.hurry = true;
      this.wake?.();
    }
    await this.draining;
    if (this.failure) throw this.failure;
  }

  private async drainPending(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const wait = this.tokenIntervalLeft();
        if (wait > 0) await this.sleepUnlessHurried(wait);
        const batch = joinTokens(this.pending.splice(0));
        if (batch.some((event) => event.type === GenerationEventType.TOKEN)) this.lastTokensAt = Date.now();
        await this.append(batch);
      }
    } catch (error) {
      this.failure = error;
      this.pending = [];
    } finally {
      this.draining = null;
      this.hurry = false;
    }
  }

  /** How long pending tokens still wait for the token interval: 0 when none do, or flush() hurries. */
  private tokenIntervalLeft(): number {
    if (this.hurry || !this.pending.some((event) => event.type === GenerationEventType.TOKEN)) return 0;
    return this.lastTokensAt + (this.options.tokenEventIntervalMs?.() ?? 0) - Date.now();
  }

  private async sleepUnlessHurried(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
  }

  /**
   * Makes the stream hold every acknowledged event again (after Redis lost some) and settles an
   * append whose outcome was unknown. One attempt: Redis errors reach the caller.
   */
  repair(): Promise<void> {
    return this.serially(async () => {
      const last = await this.log.last(this.generationId);
      await this.reconcile(last?.seq ?? 0, last ? encodeEvent(last) : []);
    });
  }

  private async appendNow(events: NewEvent[]): Promise<void> {
    const retryUntil = Date.now() + this.options.retryWindowMs;
    let failures = 0;
    let repairs = 0;
    for (;;) {
      const numbered = events.map((event, i) => ({ ...event, seq: this.seq + i + 1 }) as GenerationEvent);
      try {
        await this.log.append(this.generationId, this.seq, numbered);
        this.acknowledged(numbered);
        this.uncertain = null;
        return;
      } catch (error) {
        try {
          if (!(error instanceof EventLogConflict)) throw error;
          // A stream that only lacks acknowledged events is repaired; anything else is final.
          if (error.fenced || repairs++ >= MAX_REPAIRS) throw error;
          await this.reconcile(error.topSeq, error.topFields);
        } catch (failure) {
          if (failure instanceof EventLogConflict) throw failure;
          const delay = backoffDelay(failures++, 50, 1_000);
          if (Date.now() + delay > retryUntil) {
            this.uncertain = numbered;
            throw new EventStoreUnavailable(`Redis did not take generation ${this.generationId}'s events`);
          }
          await sleep(delay);
        }
      }
    }
  }

  /** Brings the stream, which ends at `topSeq` with `topFields`, back to what this writer wrote. */
  private async reconcile(topSeq: number, topFields: string[]): Promise<void> {
    if (topSeq > this.seq) {
      const uncertain = this.uncertain;
      const adoptable =
        uncertain !== null &&
        topSeq === this.seq + uncertain.length &&
        sameFields(topFields, encodeEvent(uncertain[uncertain.length - 1]));
      if (!adoptable) throw this.foreignWrite(topSeq);
      this.acknowledged(uncertain);
      this.uncertain = null;
      return;
    }
    const ownTop = topSeq === 0 ? [] : encodeEvent(this.written[topSeq - 1]);
    if (!sameFields(topFields, ownTop)) throw this.foreignWrite(topSeq);
    // The uncertain batch, had it landed, would be on top: it did not (or was lost with the rest).
    this.uncertain = null;
    if (topSeq < this.seq) await this.log.append(this.generationId, topSeq, this.written.slice(topSeq));
  }

  private acknowledged(events: GenerationEvent[]): void {
    this.written.push(...events);
    this.options.onAcknowledged?.(events);
  }

  private foreignWrite(topSeq: number): EventLogConflict {
    return new EventLogConflict(
      `generation ${this.generationId}: the stream ends at seq ${topSeq} with events this process did not write`,
      false,
      topSeq,
    );
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
