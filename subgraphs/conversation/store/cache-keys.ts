/**
 * The Redis key layout of the cache (under the service's REDIS_KEY_PREFIX):
 *
 *   cache:epoch                                       the cache-wide epoch, replaced to retire everything
 *   cache:generation:<scope>                          the scope's current generation token
 *   cache:entry:<scope>:<name>|<epoch>|<generation>   an entry, read only under the current tokens
 *
 * A scope is a user's list (`user:<id>`) or a conversation (`conversation:<id>`).
 */
export const CACHE_EPOCH_KEY = 'cache:epoch';
export const cacheGenerationKey = (scope: string) => `cache:generation:${scope}`;
export const cacheEntryBase = (scope: string, name: string) => `cache:entry:${scope}:${name}`;

export const userScope = (userId: string) => `user:${userId}`;
export const conversationScope = (conversationId: string) => `conversation:${conversationId}`;
