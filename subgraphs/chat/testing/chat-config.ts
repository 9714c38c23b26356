import type { UserCaller } from '../../../common/identity/caller';
import { TEST_IDENTITY_SECRET, testServers } from '../../../common/testing/env';
import { type ChatConfig, loadChatConfig } from '../config';

/** The chat subgraph's configuration for tests: offline and fast, on the real Redis under `prefix`. */
export function testChatConfig(prefix: string, env: Record<string, string> = {}): ChatConfig {
  return loadChatConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    IDENTITY_SECRET: TEST_IDENTITY_SECRET,
    REDIS_URL: testServers().redisUrl,
    REDIS_KEY_PREFIX: prefix,
    MODEL_CATALOG_KEY: `${prefix}model-catalog`,
    CHAT_PORT: '0',
    OFFLINE_TOKEN_INTERVAL_MS: '0',
    CHECKPOINT_INTERVAL_MS: '50',
    GENERATION_LEASE_MS: '5000',
    RECOVERY_INTERVAL_MS: '60000',
    SHUTDOWN_GRACE_MS: '2000',
    LLM_RETRY_BASE_MS: '5',
    ...env,
  });
}

/** A signed-in user's caller, as a request relayed by the gateway brings it. */
export const userCaller = (userId: string, requestId = 'test'): UserCaller => ({
  userId,
  role: 'USER',
  sessionId: null,
  requestId,
  issuer: 'gateway',
  service: null,
});
