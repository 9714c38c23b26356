import { randomUUID } from 'node:crypto';
import type { ClientContext, Redis, Result } from 'ioredis';
import type { Logger } from '../logging/logger';

export interface SharedSlotsOptions {
  /** Names the keys: `slots:<name>:<owner>`. */
  name: string;
  /** How long a slot outlives its holder when the holder dies without releasing it. */
  ttlMs: number;
  logger: Logger;
}

/**
 * Takes a slot when fewer than `max` live ones exist, atomically. Slots are members of a sorted
 * set scored by their expiry on Redis's clock (so replicas' clocks do not matter); expired ones
 * are dropped before counting.
 */
const ACQUIRE = `
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Pushes the expiry of held slots forward; a slot already expired (and maybe taken over) is not revived. */
const RENEW = `
local now = redis.call('TIME')
local expiry = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    acquireSharedSlot(key: string, max: number, ttlMs: number, id: string): Result<number, Context>;
    renewSharedSlots(key: string, ttlMs: number, ...ids: string[]): Result<number, Context>;
  }
}

type Release = () => void;

/**
 * A per-owner count of open things (a user's subscriptions) that every replica shares: each
 * replica holds its slots in Redis and renews them while they are open, so a replica that dies
 * stops holding them within `ttlMs`. While Redis is unavailable the count falls back to this
 * process alone (docs/scaling.md#shared-limits) and says so once in the log; slots taken then are
 * never written to Redis.
 */
export class SharedSlots {
  /** Slots this process holds in Redis, by key. */
  private readonly held = new Map<string, Set<string>>();
  /** Counts while Redis is away, by owner. */
  private readonly local = new Map<string, number>();
  private readonly renewal: NodeJS.Timeout;
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: SharedSlotsOptions,
  ) {
    // Sent by their SHA (EVALSHA), not their text, once Redis has them.
    redis.defineCommand('acquireSharedSlot', { numberOfKeys: 1, lua: ACQUIRE });
    redis.defineCommand('renewSharedSlots', { numberOfKeys: 1, lua: RENEW });
    this.renewal = setInterval(() => void this.renew(), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.renewal.unref();
  }

  /** Takes one of `owner`'s `max` slots; null when they are all taken. The release is idempotent. */
  async acquire(owner: string, max: number): Promise<Release | null> {
    const key = `slots:${this.options.name}:${owner}`;
    const id = randomUUID();
    let taken: unknown;
    try {
      taken = await this.redis.acquireSharedSlot(key, max, this.options.ttlMs, id);
    } catch (error) {
      return this.acquireLocally(owner, max, error);
    }
    this.recover();
    if (taken !== 1) return null;
    const ids = this.held.get(key) ?? new Set<string>();
    ids.add(id);
    this.held.set(key, ids);
    return once(() => {
      ids.delete(id);
      if (ids.size === 0) this.held.delete(key);
      this.redis.zrem(key, id).catch(() => undefined);
    });
  }

  /** Stops renewing; slots still held expire within `ttlMs`. */
  close(): void {
    clearInterval(this.renewal);
  }

  private acquireLocally(owner: string, max: number, error: unknown): Release | null {
    if (!this.degraded) {
      this.options.logger.warn(
        { err: error, limit: this.options.name },
        'redis unavailable: counting this limit in this process only',
      );
      this.degraded = true;
    }
    const open = this.local.get(owner) ?? 0;
    if (open >= max) return null;
    this.local.set(owner, open + 1);
    return once(() => {
      const left = (this.local.get(owner) ?? 1) - 1;
      if (left > 0) this.local.set(owner, left);
      else this.local.delete(owner);
    });
  }

  private recover(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.options.logger.info({ limit: this.options.name }, 'redis is back: this limit is shared again');
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [key, ids] of this.held) pipeline.renewSharedSlots(key, this.options.ttlMs, ...ids);
    // A failed renewal is retried on the next tick; slots expire only after ttlMs without one.
    await pipeline.exec().catch(() => undefined);
  }
}

function once(release: () => void): Release {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}
