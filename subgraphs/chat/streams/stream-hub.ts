import type { Logger } from '../../../common/logging/logger';
import { redisKeys } from '../store/redis-keys';
import { backoffDelay, sleep } from '../support/sleep';
import type { StreamReadReply, StreamReaderRepository } from '../repositories/stream-reader.repository';
import type { GenerationEventRepository } from '../repositories/generation-event.repository';
import { decodeEvent, encodeEvent, entryId, type GenerationEvent } from './generation-event';
import {
  type FollowInterrupted,
  type LivenessOptions,
  LivenessMonitor,
  type LivenessStream,
  type LivenessWatcher,
} from './liveness';

export interface StreamHubOptions extends Omit<LivenessOptions, 'logger'> {
  /** REDIS_KEY_PREFIX: XREAD answers with full key names. */
  keyPrefix: string;
  logger: Logger;
  /** The longest one XREAD waits; new streams interrupt it (CLIENT UNBLOCK), so this only bounds idling. */
  blockMs?: number;
  /** Entries read per stream per XREAD. */
  batchSize?: number;
}

export interface Watch {
  /** Stops delivery; safe to call more than once. */
  close: () => void;
}

/** A generation stream this process writes (see GenerationStreamHub.own). */
export interface OwnedStream {
  /** Events the writer appended and Redis acknowledged, in order: delivered to this process's watchers now. */
  deliver: (events: readonly GenerationEvent[]) => void;
  /** The writer appends no more (or cannot vouch for the stream): the hub reads it from Redis again. */
  release: () => void;
}

const seqOfEntry = (id: string) => Number(id.slice(0, id.indexOf('-')));

/** An event its writer handed over, exactly as an XREAD of its entry would have decoded it. */
const asRead = (event: GenerationEvent) => decodeEvent(entryId(event.seq), encodeEvent(event));

/** Events (afterSeq, toSeq] of one generation, as an XREAD would have decoded them. */
type ReadRange = (afterSeq: number, toSeq: number) => Promise<GenerationEvent[]>;

/** What a watcher is told: each event, heartbeats (with its last seq) while quiet, and a failure. */
export interface WatchHandlers {
  onEvent: (event: GenerationEvent) => void;
  /** The generation is alive though nothing came for a while; `lastSeq` is the last event delivered. */
  onHeartbeat?: (lastSeq: number) => void;
  /** A read failed, or the stream stalled (a FollowInterrupted); nothing more is delivered. */
  onError: (error: unknown) => void;
}

/**
 * Delivers one watcher every event after its `afterSeq`, each exactly once and in order, then
 * live ones. When it joins a stream the hub already follows further along, or finds a gap, it
 * reads the missing range itself and holds live events back until that range is delivered.
 */
class Watcher implements LivenessWatcher {
  private lastSeq: number;
  private held: GenerationEvent[] | null = null;
  readonly joinedAt = Date.now();
  closed = false;

  constructor(
    afterSeq: number,
    private readonly readRange: ReadRange,
    private readonly handlers: WatchHandlers,
  ) {
    this.lastSeq = afterSeq;
  }

  heartbeat(): void {
    // One catching up is busy delivering what it missed.
    if (!this.held && !this.closed) this.handlers.onHeartbeat?.(this.lastSeq);
  }

  end(failure: FollowInterrupted): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onError(failure);
  }

  receive(events: GenerationEvent[]): void {
    if (this.held) {
      this.held.push(...events);
      return;
    }
    for (let i = 0; i < events.length && !this.closed; i++) {
      const event = events[i];
      if (event.seq <= this.lastSeq) continue;
      if (event.seq > this.lastSeq + 1) {
        this.catchUp(event.seq - 1, events.slice(i));
        return;
      }
      this.lastSeq = event.seq;
      this.handlers.onEvent(event);
    }
  }

  catchUp(toSeq: number, held: GenerationEvent[] = []): void {
    this.held = held;
    this.readRange(this.lastSeq, toSeq).then(
      (missing) => {
        const pending = this.held ?? [];
        this.held = null;
        this.receive(missing);
        // receive() may have set it again: the range itself began with a gap (trimmed).
        const nested = this.held as GenerationEvent[] | null;
        if (nested) {
          nested.push(...pending);
          return;
        }
        // Whatever the range lacked is gone for good (expired); going on beats waiting forever.
        this.lastSeq = Math.max(this.lastSeq, toSeq);
        this.receive(pending);
      },
      (error: unknown) => {
        this.held = null;
        if (!this.closed) this.handlers.onError(error);
      },
    );
  }
}

interface FollowedStream extends LivenessStream {
  /** The seq of the last entry the hub has read from this stream. */
  cursor: number;
  watchers: Set<Watcher>;
}

/**
 * Follows every generation stream that has subscribers in this process with a single blocking
 * XREAD on a connection of its own, and fans each entry out to all its watchers. So any number
 * of subscribers costs one Redis connection and one round trip per batch of events, not one
 * blocked connection each. A LivenessMonitor sends heartbeats to the watchers of quiet streams
 * and ends those whose stream stalled.
 */
export class GenerationStreamHub {
  private readonly streams = new Map<string, FollowedStream>();
  /** Generations this process writes, with every event their writer delivered, in order. */
  private readonly owned = new Map<string, GenerationEvent[]>();
  private readonly generationByKey = new Map<string, string>();
  private readonly blockMs: number;
  private readonly batchSize: number;
  private readerId: string | null = null;
  private blocking = false;
  private waking = false;
  /** Bumped whenever a stream is added; the loop records which version its XREAD covers. */
  private streamsVersion = 0;
  private readingVersion = 0;
  private resumeIdle: (() => void) | null = null;
  private running = true;
  private readonly loop: Promise<void>;
  private readonly liveness: LivenessMonitor;

  constructor(
    private readonly reader: StreamReaderRepository,
    private readonly log: GenerationEventRepository,
    private readonly options: StreamHubOptions,
  ) {
    this.blockMs = options.blockMs ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    // A read cut by a reconnect is sent again by ioredis on the new connection, whose id the hub
    // does not know yet: it finds it by this name (see wake).
    reader.onReady(() => this.onReaderReady());
    this.loop = this.run();
    this.liveness = new LivenessMonitor(() => this.streams, options);
  }

  /** How many generation streams this process follows now. */
  get followedStreams(): number {
    return this.streams.size;
  }

  watch(generationId: string, afterSeq: number, handlers: WatchHandlers): Watch {
    let stream = this.streams.get(generationId);
    const added = !stream;
    if (!stream) {
      const now = Date.now();
      // What the writer here delivered before anyone watched is read back (the catch-up below).
      const cursor = Math.max(afterSeq, this.owned.get(generationId)?.at(-1)?.seq ?? 0);
      stream = { cursor, watchers: new Set(), lastActiveAt: now, lastSignAt: now };
      this.streams.set(generationId, stream);
      this.generationByKey.set(`${this.options.keyPrefix}${redisKeys.events(generationId)}`, generationId);
    }
    const watcher = new Watcher(afterSeq, (after, to) => this.readRange(generationId, after, to), handlers);
    stream.watchers.add(watcher);
    if (stream.cursor > afterSeq) watcher.catchUp(stream.cursor);
    // An owned stream is not read until it is released (which wakes the loop then).
    if (added && !this.owned.has(generationId)) {
      this.streamsVersion++;
      void this.wake();
    }
    const followed = stream;
    return {
      close: () => {
        watcher.closed = true;
        followed.watchers.delete(watcher);
        if (followed.watchers.size === 0 && this.streams.get(generationId) === followed) {
          this.streams.delete(generationId);
          this.generationByKey.delete(`${this.options.keyPrefix}${redisKeys.events(generationId)}`);
        }
      },
    };
  }

  /**
   * Marks a generation this process writes. While it is owned, its writer hands the hub each batch
   * Redis acknowledged (`deliver`) and the hub passes it to its watchers here at once, leaving the
   * stream out of its XREAD: a token costs no read of its own, and no XREAD wakes for it. Watchers
   * still get every event once and in order (a gap is read from Redis, as always). `release` hands
   * the stream back to the XREAD from the last event delivered, which then reads whatever else the
   * stream holds: anything another replica wrote after taking the generation over, or an append
   * whose acknowledgement was lost.
   */
  own(generationId: string): OwnedStream {
    const owned: GenerationEvent[] = [];
    this.owned.set(generationId, owned);
    return {
      deliver: (appended) => {
        if (this.owned.get(generationId) !== owned || appended.length === 0) return;
        owned.push(...appended);
        const stream = this.streams.get(generationId);
        if (!stream) return;
        const events = appended.map(asRead);
        stream.cursor = Math.max(stream.cursor, appended[appended.length - 1].seq);
        stream.lastActiveAt = stream.lastSignAt = Date.now();
        for (const watcher of [...stream.watchers]) watcher.receive(events);
      },
      release: () => {
        if (this.owned.get(generationId) !== owned) return;
        this.owned.delete(generationId);
        if (!this.streams.has(generationId)) return;
        this.streamsVersion++;
        void this.wake();
      },
    };
  }

  /**
   * What a watcher that joins late, or finds a gap, missed: from the writer here while it owns the
   * generation and has delivered the whole range (a stream started by this process is read from
   * Redis not even once), else from Redis.
   */
  private readRange(generationId: string, afterSeq: number, toSeq: number): Promise<GenerationEvent[]> {
    const range = this.owned.get(generationId)?.slice(afterSeq, toSeq);
    if (
      range &&
      range.length === toSeq - afterSeq &&
      range.every((event, i) => event.seq === afterSeq + i + 1)
    ) {
      return Promise.resolve(range.map(asRead));
    }
    return this.log.read(generationId, afterSeq, toSeq);
  }

  async stop(): Promise<void> {
    await this.liveness.stop();
    this.running = false;
    this.resumeIdle?.();
    if (this.blocking && this.readerId !== null) {
      await this.reader.unblock(this.readerId);
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.readingVersion = this.streamsVersion;
      // Streams this process writes reach their watchers from the writer (see own).
      const ids = [...this.streams.keys()].filter((id) => !this.owned.has(id));
      if (ids.length === 0) {
        await new Promise<void>((resolve) => (this.resumeIdle = resolve));
        this.resumeIdle = null;
        continue;
      }
      const cursors = ids.map((id) => entryId((this.streams.get(id) as FollowedStream).cursor));
      let reply: StreamReadReply;
      try {
        this.readerId ??= await this.reader.readerId();
        this.blocking = true;
        reply = await this.reader.read(ids, cursors, this.batchSize, this.blockMs);
        failures = 0;
      } catch (error) {
        this.readerId = null;
        if (!this.running) break;
        if (failures === 0) this.options.logger.warn({ err: error }, 'generation stream reader failed');
        await sleep(backoffDelay(failures++, 100, 2_000));
        continue;
      } finally {
        this.blocking = false;
      }
      if (reply) this.dispatch(reply);
    }
  }

  private dispatch(reply: NonNullable<StreamReadReply>): void {
    for (const [key, entries] of reply) {
      const generationId = this.generationByKey.get(key);
      const stream = generationId === undefined ? undefined : this.streams.get(generationId);
      if (!stream || entries.length === 0) continue;
      const events: GenerationEvent[] = [];
      for (const [id, fields] of entries) {
        try {
          events.push(decodeEvent(id, fields));
        } catch (error) {
          this.options.logger.error({ generationId, err: error }, 'unreadable generation event');
        }
      }
      // An XREAD sent before its stream was owned may return what the writer already delivered.
      stream.cursor = Math.max(stream.cursor, seqOfEntry(entries[entries.length - 1][0]));
      stream.lastActiveAt = stream.lastSignAt = Date.now();
      for (const watcher of [...stream.watchers]) watcher.receive(events);
    }
  }

  /**
   * Makes the loop pick up a newly added stream now rather than when its XREAD times out. The
   * XREAD may not have reached Redis yet when UNBLOCK is sent, so this retries until the loop has
   * started a read that includes the new stream.
   */
  private async wake(): Promise<void> {
    if (this.resumeIdle) {
      this.resumeIdle();
      return;
    }
    if (this.waking) return;
    this.waking = true;
    try {
      while (this.running && this.readingVersion < this.streamsVersion) {
        if (this.blocking) {
          this.readerId ??= await this.reader.findReaderId().catch(() => null);
          if (this.readerId !== null) await this.reader.unblock(this.readerId);
        }
        await sleep(1);
      }
    } finally {
      this.waking = false;
    }
  }

  /** A new connection (at start, or after a reconnect): a new client id, and the name to find it by. */
  private onReaderReady(): void {
    this.readerId = null;
    this.reader.nameReader();
  }
}
