/**
 * Every Redis key the chat subgraph uses, relative to REDIS_KEY_PREFIX (ioredis adds it).
 * docs/chat.md describes what each holds.
 */
export const redisKeys = {
  generation: (id: string) => `generation:${id}`,
  events: (id: string) => `generation:${id}:events`,
  /** Set by recovery: the generation's own process may append no more events. */
  fence: (id: string) => `generation:${id}:fence`,
  messageGeneration: (messageId: string) => `message:${messageId}:generation`,
  conversationActive: (conversationId: string) => `conversation:${conversationId}:active-generation`,
  /** Generations not yet settled, scored by when their lease runs out. */
  unsettled: 'generations:unsettled',
  userActive: (userId: string) => `user:${userId}:active-generations`,
  userTotals: (userId: string) => `user:${userId}:usage`,
  userDaily: (userId: string, day: string) => `user:${userId}:usage:${day}`,
};

/** Pub/sub channels are not prefixed by ioredis, so the prefix is added here. */
export const stopChannel = (keyPrefix: string) => `${keyPrefix}generation-stop`;
