import type { ClientContext, Redis, Result } from 'ioredis';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../config';
import {
  EMPTY_CONTEXT,
  type GenerationContext,
  type GenerationRecord,
  GenerationStatus,
  type RecalledMessage,
  type TokenUsage,
} from '../records/generation.record';
import { redisKeys } from '../store/redis-keys';
import { throwFirstError } from '../store/redis-results';

/** Takes a conversation's active-generation slot; returns '' when it got it, else the holder. */
const CLAIM_CONVERSATION = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return '' end
return redis.call('GET', KEYS[1]) or ''
`;

/** Frees the slot only if this generation still holds it. */
const RELEASE_CONVERSATION = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * A running generation's lease renewal: its unsettled entry, its `leaseUntil` and its conversation
 * slot move on by one lease. Returns 'fenced' when recovery took it over, 'lost' when its record
 * is gone (Redis lost its data), 'stop' when someone asked to stop it, else 'ok'.
 */
const RENEW_LEASE = `
if redis.call('EXISTS', KEYS[4]) == 1 then return 'fenced' end
if redis.call('EXISTS', KEYS[3]) == 0 then return 'lost' end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
redis.call('HSET', KEYS[3], 'leaseUntil', ARGV[3])
if redis.call('HGET', KEYS[3], 'stopRequested') == '1' then return 'stop' end
return 'ok'
`;

/** Hands out unsettled generations whose lease ran out, pushing each one's score ahead so that
 * concurrent sweepers (other replicas) do not take the same one and a failed settle is retried. */
const CLAIM_ABANDONED = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    claimConversationSlot(key: string, slot: string, leaseMs: number): Result<string, Context>;
    releaseConversationSlot(key: string, slot: string): Result<number, Context>;
    renewGenerationLease(
      unsettledKey: string,
      conversationKey: string,
      generationKey: string,
      fenceKey: string,
      generationId: string,
      slot: string,
      leaseUntil: number,
      leaseMs: number,
    ): Result<string, Context>;
    claimAbandonedGenerations(
      key: string,
      now: number,
      retryAt: number,
      limit: number,
    ): Result<string[], Context>;
  }
}

const epochMs = z.coerce
  .number()
  .int()
  .transform((ms) => new Date(ms));
const optionalEpochMs = z
  .string()
  .optional()
  .transform((value) => (value ? new Date(Number(value)) : null));
const optionalCount = z
  .string()
  .optional()
  .transform((value) => (value === undefined ? null : Number(value)));

const storedGeneration = z
  .object({
    id: z.string(),
    userId: z.string(),
    conversationId: z.string(),
    messageId: z.string(),
    parentMessageId: z.string(),
    model: z.string(),
    provider: z.enum(PROVIDER_NAMES),
    status: z.enum(GenerationStatus),
    startedAt: epochMs,
    firstTokenAt: optionalEpochMs,
    finishedAt: optionalEpochMs,
    promptTokens: optionalCount,
    completionTokens: optionalCount,
    usageEstimated: z.string().optional(),
    error: z.string().optional(),
    context: z.string().transform((json) => contextOf(JSON.parse(json))),
  })
  .transform(
    ({ promptTokens, completionTokens, usageEstimated, error, ...rest }): GenerationRecord => ({
      ...rest,
      usage:
        promptTokens === null || completionTokens === null
          ? null
          : { promptTokens, completionTokens, estimated: usageEstimated === '1' },
      error: error ?? null,
    }),
  );

/** A record written before instructions and memories were listed holds the recalled messages alone. */
const contextOf = (stored: GenerationContext | RecalledMessage[]): GenerationContext =>
  Array.isArray(stored) ? { ...EMPTY_CONTEXT, recalled: stored } : stored;

const usageFields = (usage: TokenUsage) => ({
  promptTokens: usage.promptTokens,
  completionTokens: usage.completionTokens,
  usageEstimated: usage.estimated ? '1' : '0',
});

/** Every field of the record that has a value: written whole, a hash Redis lost comes back whole. */
const recordFields = (record: GenerationRecord): Record<string, string | number> => ({
  id: record.id,
  userId: record.userId,
  conversationId: record.conversationId,
  messageId: record.messageId,
  parentMessageId: record.parentMessageId,
  model: record.model,
  provider: record.provider,
  status: record.status,
  startedAt: record.startedAt.getTime(),
  context: JSON.stringify(record.context),
  ...(record.firstTokenAt ? { firstTokenAt: record.firstTokenAt.getTime() } : {}),
  ...(record.finishedAt ? { finishedAt: record.finishedAt.getTime() } : {}),
  ...(record.usage ? usageFields(record.usage) : {}),
  ...(record.error ? { error: record.error } : {}),
});

/** What a renewal found: see RENEW_LEASE. */
export type LeaseRenewal = 'ok' | 'stop' | 'fenced' | 'lost';

/**
 * Whether a generation's own process is alive, as `leaseUntil` says: `live` while it renews its
 * lease, `released` when it finished but left the save to recovery, `lapsed` when it stopped
 * renewing (or never wrote one), `missing` when Redis has no record of it.
 */
export type LeaseState = 'live' | 'released' | 'lapsed' | 'missing';

/** Who holds a conversation's active-generation slot. */
export interface SlotHolder {
  userId: string;
  generationId: string;
}

/** The slot names the owner too, so a claim can be judged before the holder's record exists. */
const slotValue = (userId: string, generationId: string) => `${userId}:${generationId}`;

const parseSlot = (value: string | null): SlotHolder | null => {
  const [userId, generationId] = value ? value.split(':') : [];
  return userId && generationId ? { userId, generationId } : null;
};

/**
 * Generation records in Redis: a hash per generation, an index from the assistant message to it,
 * each conversation's active-generation slot, and the `unsettled` set that recovery sweeps.
 */
export class GenerationRepository {
  constructor(
    private readonly redis: Redis,
    private readonly retentionSeconds: number,
  ) {
    redis.defineCommand('claimConversationSlot', { numberOfKeys: 1, lua: CLAIM_CONVERSATION });
    redis.defineCommand('releaseConversationSlot', { numberOfKeys: 1, lua: RELEASE_CONVERSATION });
    redis.defineCommand('renewGenerationLease', { numberOfKeys: 4, lua: RENEW_LEASE });
    redis.defineCommand('claimAbandonedGenerations', { numberOfKeys: 1, lua: CLAIM_ABANDONED });
  }

  /** Stores a new STREAMING generation, unsettled until its lease (renewed while it runs) ends. */
  async create(record: GenerationRecord, leaseMs: number): Promise<void> {
    const leaseUntil = Date.now() + leaseMs;
    await this.writeRecord(record, { leaseUntil })
      .zadd(redisKeys.unsettled, leaseUntil, record.id)
      .exec()
      .then(throwFirstError);
  }

  /**
   * As create, for the first reply of a conversation its turn has just created, with that reply's
   * hold on the conversation's slot in the same transaction: one round trip instead of two. Nobody
   * else can hold the slot of a conversation whose id is not out yet; should it be held all the
   * same, this rejects, and the record it wrote is left to recovery, as a reply whose process died
   * would be (its lease runs out and it is settled).
   */
  async createInNewConversation(record: GenerationRecord, leaseMs: number): Promise<void> {
    if (!(await this.writeHoldingSlot(record, leaseMs))) {
      throw new Error(`the slot of new conversation ${record.conversationId} was already held`);
    }
  }

  /**
   * Writes a running generation back after Redis lost it: its record, the index from its message,
   * its unsettled entry and its conversation slot (unless another generation took the slot meanwhile).
   */
  async restore(record: GenerationRecord, leaseMs: number): Promise<void> {
    await this.writeHoldingSlot(record, leaseMs);
  }

  /**
   * The record, its unsettled entry and its conversation's slot, unless someone holds the slot, in
   * one transaction; true when the slot is now the record's.
   */
  private async writeHoldingSlot(record: GenerationRecord, leaseMs: number): Promise<boolean> {
    const leaseUntil = Date.now() + leaseMs;
    const results = await this.writeRecord(record, { leaseUntil })
      .zadd(redisKeys.unsettled, leaseUntil, record.id)
      .set(
        redisKeys.conversationActive(record.conversationId),
        slotValue(record.userId, record.id),
        'PX',
        leaseMs,
        'NX',
      )
      .exec();
    throwFirstError(results);
    return results?.at(-1)?.[1] === 'OK';
  }

  async get(id: string): Promise<GenerationRecord | null> {
    const hash = await this.redis.hgetall(redisKeys.generation(id));
    if (!hash.id) return null;
    return storedGeneration.parse(hash);
  }

  async findByMessage(messageId: string): Promise<GenerationRecord | null> {
    const id = await this.redis.get(redisKeys.messageGeneration(messageId));
    return id ? this.get(id) : null;
  }

  async activeInConversation(conversationId: string): Promise<GenerationRecord | null> {
    const holder = parseSlot(await this.redis.get(redisKeys.conversationActive(conversationId)));
    return holder ? this.get(holder.generationId) : null;
  }

  /**
   * Takes the conversation's one active-generation slot for a generation (not yet stored, perhaps);
   * when someone else holds it, says who, so the caller can tell its own from another user's.
   */
  async claimConversation(
    conversationId: string,
    userId: string,
    generationId: string,
    leaseMs: number,
  ): Promise<SlotHolder | null> {
    const holder = await this.redis.claimConversationSlot(
      redisKeys.conversationActive(conversationId),
      slotValue(userId, generationId),
      leaseMs,
    );
    return parseSlot(holder);
  }

  async releaseConversation(conversationId: string, userId: string, generationId: string): Promise<void> {
    await this.redis.releaseConversationSlot(
      redisKeys.conversationActive(conversationId),
      slotValue(userId, generationId),
    );
  }

  /** Renews a running generation's lease, and says what it found (see RENEW_LEASE). */
  async renewLease(record: GenerationRecord, leaseMs: number): Promise<LeaseRenewal> {
    return (await this.redis.renewGenerationLease(
      redisKeys.unsettled,
      redisKeys.conversationActive(record.conversationId),
      redisKeys.generation(record.id),
      redisKeys.fence(record.id),
      record.id,
      slotValue(record.userId, record.id),
      Date.now() + leaseMs,
      leaseMs,
    )) as LeaseRenewal;
  }

  /**
   * Hands an unsettled generation to recovery at once: its process gives up its lease (`leaseUntil`
   * 0, which ends its subscribers) and makes it due for the next sweep.
   */
  async release(id: string): Promise<void> {
    await this.redis
      .multi()
      .hset(redisKeys.generation(id), 'leaseUntil', 0)
      .zadd(redisKeys.unsettled, 'XX', 0, id)
      .exec()
      .then(throwFirstError);
  }

  /** The lease state of each generation, in one round trip. */
  async leaseStates(ids: string[]): Promise<LeaseState[]> {
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(redisKeys.generation(id), 'id', 'leaseUntil');
    const results = await pipeline.exec();
    throwFirstError(results);
    const now = Date.now();
    return (results ?? []).map(([, reply]) => {
      const [id, leaseUntil] = reply as [string | null, string | null];
      if (id === null) return 'missing';
      if (leaseUntil === '0') return 'released';
      return Number(leaseUntil) > now ? 'live' : 'lapsed';
    });
  }

  /** When the first token came, and what the prompt was built from when there is something to show. */
  async recordFirstToken(id: string, at: Date, context: GenerationRecord['context'] | null): Promise<void> {
    await this.redis.hset(redisKeys.generation(id), {
      firstTokenAt: at.getTime(),
      ...(context ? { context: JSON.stringify(context) } : {}),
    });
  }

  /** Records how the generation ended, writing its whole record (Redis may have lost it meanwhile). */
  async finish(record: GenerationRecord): Promise<void> {
    await this.writeRecord(record).exec().then(throwFirstError);
  }

  async requestStop(id: string): Promise<void> {
    await this.redis.hset(redisKeys.generation(id), 'stopRequested', '1');
  }

  /** Removes it from the unsettled set: its message in the conversation subgraph is final. */
  async markSettled(id: string): Promise<void> {
    await this.redis.zrem(redisKeys.unsettled, id);
  }

  /** Unsettled generations whose lease has run out, each reserved for `retryAfterMs`. */
  async claimAbandoned(limit: number, retryAfterMs: number): Promise<string[]> {
    const now = Date.now();
    return this.redis.claimAbandonedGenerations(redisKeys.unsettled, now, now + retryAfterMs, limit);
  }

  /** The record's hash, its expiry and the index from its message, as one transaction to extend. */
  private writeRecord(record: GenerationRecord, extra: Record<string, string | number> = {}) {
    const key = redisKeys.generation(record.id);
    return this.redis
      .multi()
      .hset(key, { ...recordFields(record), ...extra })
      .expire(key, this.retentionSeconds)
      .set(redisKeys.messageGeneration(record.messageId), record.id, 'EX', this.retentionSeconds);
  }

  /** Lists it as unsettled, due now, unless it is listed already; true when it was added. */
  async trackUnsettled(id: string): Promise<boolean> {
    return (await this.redis.zadd(redisKeys.unsettled, 'NX', 0, id)) === 1;
  }
}
