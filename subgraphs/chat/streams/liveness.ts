import type { Logger } from '../../../common/logging/logger';
import type { LeaseState } from '../repositories/generation.repository';

/**
 * Why a subscriber's stream ended without its terminal event: this process could not read Redis
 * (`redis`), Redis answers but nothing keeps the generation alive any more (`chat`: its process is
 * gone and nobody has settled it yet), or its process finished but left the save to recovery
 * (`conversation`). Each is worth resuming later.
 */
export class FollowInterrupted extends Error {
  override name = 'FollowInterrupted';
  constructor(readonly dependency: 'redis' | 'chat' | 'conversation') {
    super(`the generation's stream stalled (${dependency})`);
  }
}

export interface LivenessWatcher {
  /** When it started following, for the stall bound of a late joiner. */
  readonly joinedAt: number;
  heartbeat(): void;
  end(failure: FollowInterrupted): void;
}

export interface LivenessStream {
  /** Last time its watchers received something: an event or a heartbeat. */
  lastActiveAt: number;
  /** Last sign that the generation is alive: an event, or its lease seen live. */
  lastSignAt: number;
  readonly watchers: Set<LivenessWatcher>;
}

export interface LivenessOptions {
  /** A stream whose watchers received nothing for this long gets a heartbeat while its lease is live. */
  heartbeatIntervalMs: number;
  /** A watcher with no sign of life for this long is ended. */
  stallTimeoutMs: number;
  /** The lease state of each generation, in one round trip. */
  leaseStates: (generationIds: string[]) => Promise<LeaseState[]>;
  logger: Logger;
}

/**
 * Watches over the streams a process follows, every half heartbeat interval. For each stream that
 * has been quiet for a heartbeat interval it reads the generation's lease (one pipeline for all):
 * live, its watchers get a heartbeat; released, they are ended at once; otherwise nothing, and a
 * watcher that has had no sign of life for the stall timeout is ended. So a subscriber hears from
 * a live reply at least every 1.5 heartbeat intervals, and never waits longer than the stall
 * timeout plus one interval, whatever happened to Redis or to the process writing the reply.
 */
export class LivenessMonitor {
  private readonly timer: NodeJS.Timeout;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly streams: () => Map<string, LivenessStream>,
    private readonly options: LivenessOptions,
  ) {
    this.timer = setInterval(() => this.onTick(), Math.max(1, Math.floor(options.heartbeatIntervalMs / 2)));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private onTick(): void {
    this.checking ??= this.check()
      .catch((error: Error) => this.options.logger.warn({ err: error }, 'liveness check failed'))
      .finally(() => {
        this.checking = null;
      });
  }

  private async check(): Promise<void> {
    const started = Date.now();
    const quiet = [...this.streams()].filter(
      ([, stream]) => started - stream.lastActiveAt >= this.options.heartbeatIntervalMs,
    );
    if (quiet.length === 0) return;
    let states: LeaseState[] | null;
    try {
      states = await this.options.leaseStates(quiet.map(([id]) => id));
    } catch {
      states = null;
    }
    const now = Date.now();
    quiet.forEach(([, stream], i) => {
      const state = states?.[i];
      if (state === 'live') {
        stream.lastSignAt = now;
        stream.lastActiveAt = now;
        for (const watcher of [...stream.watchers]) watcher.heartbeat();
        return;
      }
      if (state === 'released') {
        for (const watcher of [...stream.watchers]) watcher.end(new FollowInterrupted('conversation'));
        return;
      }
      for (const watcher of [...stream.watchers]) {
        if (now - Math.max(stream.lastSignAt, watcher.joinedAt) > this.options.stallTimeoutMs)
          watcher.end(new FollowInterrupted(states ? 'chat' : 'redis'));
      }
    });
  }
}
