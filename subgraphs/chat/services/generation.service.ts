import { AppError, badUserInput, notFound, upstreamUnavailable } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import { type Caller, isSignedIn, requireUser } from '../../../common/identity/caller';
import type { Logger } from '../../../common/logging/logger';
import { type GenerationRecord, GenerationStatus, isFinal } from '../records/generation.record';
import type { GenerationSupervisor } from '../generation/generation-supervisor';
import type { StopSignalRepository } from '../repositories/stop-signal.repository';
import type { GenerationRepository } from '../repositories/generation.repository';
import { AsyncQueue } from '../streams/async-queue';
import type { GenerationEventRepository } from '../repositories/generation-event.repository';
import {
  type GenerationEvent,
  GenerationEventType,
  type HeartbeatEvent,
  isTerminal,
} from '../streams/generation-event';
import { FollowInterrupted } from '../streams/liveness';
import type { GenerationStreamHub } from '../streams/stream-hub';

/** An event (or a heartbeat) with the generation as its subscriber knows it on delivery. */
export interface FollowedEvent {
  event: GenerationEvent | HeartbeatEvent;
  generation: GenerationRecord;
}

export interface GenerationServiceDependencies {
  generations: GenerationRepository;
  events: GenerationEventRepository;
  hub: GenerationStreamHub;
  supervisor: GenerationSupervisor;
  stopSignals: StopSignalRepository;
  /**
   * True for a while after this process reconnected to Redis: a generation it cannot find may be
   * one that Redis lost and its process is about to write back, so it is not reported missing.
   */
  restoringRedis: () => boolean;
  logger: Logger;
}

/** Redis failing is a dependency being away, never an internal error. */
async function fromRedis<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw upstreamUnavailable('redis');
  }
}

/** How long stopGeneration waits for the generation to end before answering with its state. */
const STOP_WAIT_MS = 5_000;

/**
 * A subscriber's copy of the generation after an event. Status only ever moves from STREAMING to
 * final, so a replayed event never makes a finished generation look live. Most events (tokens)
 * change nothing and get the same object back: every event shares one copy until something changes.
 */
function apply(generation: GenerationRecord, event: GenerationEvent): GenerationRecord {
  const end = (status: GenerationStatus, error: string | null = null): GenerationRecord =>
    isFinal(generation.status)
      ? generation
      : { ...generation, status, error, finishedAt: generation.finishedAt ?? new Date() };
  switch (event.type) {
    case GenerationEventType.USAGE:
      return generation.usage
        ? generation
        : {
            ...generation,
            usage: {
              promptTokens: event.promptTokens,
              completionTokens: event.completionTokens,
              estimated: event.estimated,
            },
          };
    case GenerationEventType.DONE:
      return end(GenerationStatus.COMPLETE);
    case GenerationEventType.STOPPED:
      return end(GenerationStatus.STOPPED);
    case GenerationEventType.ERROR:
      return end(event.interrupted ? GenerationStatus.INTERRUPTED : GenerationStatus.FAILED, event.error);
    default:
      return generation;
  }
}

/** Reading, following and stopping generations; only their owner knows they exist. */
export class GenerationService {
  constructor(private readonly deps: GenerationServiceDependencies) {}

  async get(caller: Caller, id: string): Promise<GenerationRecord> {
    requireUser(caller);
    const generation = await this.findOwned(caller, id);
    if (generation) return generation;
    // The same answer for every caller and id, so it tells nobody what exists.
    if (isUuid(id) && this.deps.restoringRedis()) throw upstreamUnavailable('redis');
    throw notFound('Generation');
  }

  /** The generation if the caller owns it, else null (entity references, nullable fields). */
  async findOwned(caller: Caller, id: string): Promise<GenerationRecord | null> {
    if (!isSignedIn(caller) || !isUuid(id)) return null;
    const generation = await fromRedis(this.deps.generations.get(id));
    return generation?.userId === caller.userId ? generation : null;
  }

  async forMessage(caller: Caller, messageId: string): Promise<GenerationRecord | null> {
    if (!isSignedIn(caller) || !isUuid(messageId)) return null;
    const generation = await this.deps.generations.findByMessage(messageId);
    return generation?.userId === caller.userId ? generation : null;
  }

  async activeInConversation(caller: Caller, conversationId: string): Promise<GenerationRecord | null> {
    if (!isSignedIn(caller) || !isUuid(conversationId)) return null;
    const generation = await this.deps.generations.activeInConversation(conversationId);
    return generation?.userId === caller.userId && !isFinal(generation.status) ? generation : null;
  }

  /**
   * Every event after `after`, then live ones until the terminal event; each exactly once, in
   * order, from whichever replica runs the generation, with heartbeats while it is alive but quiet.
   * A finished generation completes at once when `after` is its last event or its stream has
   * expired (GENERATION_STREAM_TTL_SECONDS; `generation(id)` still tells how it ended), and refuses
   * an `after` past its last event. A stalled stream ends with UPSTREAM_UNAVAILABLE, to resume
   * later (docs/protocol.md, "Liveness").
   */
  async follow(caller: Caller, id: string, after: number): Promise<AsyncIterableIterator<FollowedEvent>> {
    if (!Number.isInteger(after) || after < 0)
      throw badUserInput('after', 'after must be a seq of 0 or more');
    const generation = await this.get(caller, id);
    const last = await fromRedis(this.deps.events.last(id));
    const finished = last ? isTerminal(last) : isFinal(generation.status);
    if (last && finished && after > last.seq) {
      throw badUserInput('after', `after must be at most ${last.seq}, the last event of this generation`);
    }
    if (finished && after >= (last?.seq ?? 0)) {
      const nothingMore = new AsyncQueue<FollowedEvent>();
      nothingMore.end();
      return nothingMore;
    }
    return this.watch(generation, after);
  }

  /**
   * Every event of a generation `send` has just started for the caller, as `follow(…, 0)` gives
   * them, with nothing read first: the caller owns it and it has not ended long enough ago to
   * expire. Its writer is in this process and hands the hub every event (GenerationStreamHub.own),
   * so a turn sent and followed here reads nothing of its stream from Redis.
   */
  followStarted(started: GenerationRecord): AsyncIterableIterator<FollowedEvent> {
    return this.watch(started, 0);
  }

  /** The queue a follower reads: the hub's events after `after`, each applied to `generation`. */
  private watch(record: GenerationRecord, after: number): AsyncIterableIterator<FollowedEvent> {
    const { id } = record;
    let generation = record;
    const queue = new AsyncQueue<FollowedEvent>(() => watch.close());
    const watch = this.deps.hub.watch(id, after, {
      onEvent: (event) => {
        generation = apply(generation, event);
        queue.push({ event, generation });
        if (!isTerminal(event)) return;
        queue.end();
        // The reply is complete in the queue: the stream need not be followed while it is read.
        watch.close();
      },
      onHeartbeat: (lastSeq) =>
        queue.push({ event: { seq: lastSeq, type: GenerationEventType.HEARTBEAT }, generation }),
      onError: (error) => {
        this.deps.logger.warn({ generationId: id, err: error }, 'generation events unreadable');
        const dependency = error instanceof FollowInterrupted ? error.dependency : 'redis';
        queue.fail(upstreamUnavailable(dependency));
      },
    });
    return queue;
  }

  /**
   * Asks whichever replica runs it to stop (pub/sub, and a flag its heartbeat reads), then waits
   * briefly for the generation to end so the answer shows it STOPPED with the partial reply saved.
   */
  async stop(caller: Caller, id: string): Promise<GenerationRecord> {
    const generation = await this.get(caller, id);
    if (isFinal(generation.status)) return generation;
    const last = await this.deps.events.last(id);
    if (!last || !isTerminal(last)) {
      await this.deps.generations.requestStop(id);
      if (!this.deps.supervisor.stop(id)) await this.deps.stopSignals.publish(id);
      // The hub replays from `last`, so an end written meanwhile is not missed.
      await this.waitForEnd(id, last?.seq ?? 0);
    }
    return (await this.deps.generations.get(id)) ?? generation;
  }

  private waitForEnd(id: string, afterSeq: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        watch.close();
        resolve();
      };
      const timer = setTimeout(done, STOP_WAIT_MS);
      const watch = this.deps.hub.watch(id, afterSeq, {
        onEvent: (event) => isTerminal(event) && done(),
        onError: done,
      });
    });
  }
}
