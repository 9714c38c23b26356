import type { ClientContext, Redis, Result } from 'ioredis';
import { z } from 'zod';
import { type GenerationRecord, GenerationStatus, type TokenUsage } from '../domain/generation';
import { redisKeys } from '../redis-keys';
import { throwFirstError } from '../support/redis-results';

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
 * A running generation's lease renewal: its unsettled entry and its conversation slot move on
 * by one lease. Returns whether someone asked to stop it.
 */
const RENEW_LEASE = `
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return redis.call('HGET', KEYS[3], 'stopRequested') or ''
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
    provider: z.enum(['offline', 'gemini', 'openai-compatible']),
    status: z.enum(GenerationStatus),
    startedAt: epochMs,
    firstTokenAt: optionalEpochMs,
    finishedAt: optionalEpochMs,
    promptTokens: optionalCount,
    completionTokens: optionalCount,
    usageEstimated: z.string().optional(),
    error: z.string().optional(),
    context: z.string().transform((json) => JSON.parse(json) as GenerationRecord['context']),
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

const usageFields = (usage: TokenUsage) => ({
  promptTokens: usage.promptTokens,
  completionTokens: usage.completionTokens,
  usageEstimated: usage.estimated ? '1' : '0',
});

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

export interface FinishedGeneration {
  status: GenerationStatus;
  finishedAt: Date;
  usage: TokenUsage | null;
  error: string | null;
}

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
    redis.defineCommand('renewGenerationLease', { numberOfKeys: 3, lua: RENEW_LEASE });
    redis.defineCommand('claimAbandonedGenerations', { numberOfKeys: 1, lua: CLAIM_ABANDONED });
  }

  /** Stores a new STREAMING generation, unsettled until its lease (renewed while it runs) ends. */
  async create(record: GenerationRecord, leaseMs: number): Promise<void> {
    const key = redisKeys.generation(record.id);
    const fields: Record<string, string | number> = {
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
    };
    await this.redis
      .multi()
      .hset(key, fields)
      .expire(key, this.retentionSeconds)
      .set(redisKeys.messageGeneration(record.messageId), record.id, 'EX', this.retentionSeconds)
      .zadd(redisKeys.unsettled, Date.now() + leaseMs, record.id)
      .exec()
      .then(throwFirstError);
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

  /** Renews a running generation's lease; true when a stop was requested meanwhile. */
  async renewLease(record: GenerationRecord, leaseMs: number): Promise<boolean> {
    const stopRequested = await this.redis.renewGenerationLease(
      redisKeys.unsettled,
      redisKeys.conversationActive(record.conversationId),
      redisKeys.generation(record.id),
      record.id,
      slotValue(record.userId, record.id),
      Date.now() + leaseMs,
      leaseMs,
    );
    return stopRequested === '1';
  }

  async recordContext(id: string, context: GenerationRecord['context']): Promise<void> {
    await this.redis.hset(redisKeys.generation(id), 'context', JSON.stringify(context));
  }

  async recordFirstToken(id: string, at: Date): Promise<void> {
    await this.redis.hset(redisKeys.generation(id), 'firstTokenAt', at.getTime());
  }

  async finish(id: string, finished: FinishedGeneration): Promise<void> {
    await this.redis.hset(redisKeys.generation(id), {
      status: finished.status,
      finishedAt: finished.finishedAt.getTime(),
      ...(finished.usage ? usageFields(finished.usage) : {}),
      ...(finished.error ? { error: finished.error } : {}),
    });
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

  /** Lists it as unsettled, due now, unless it is listed already; true when it was added. */
  async trackUnsettled(id: string): Promise<boolean> {
    return (await this.redis.zadd(redisKeys.unsettled, 'NX', 0, id)) === 1;
  }
}
