import type { Logger } from '../../../common/logging/logger';
import type { ChatConfig } from '../config';
import { GeminiProvider } from './gemini';
import { OfflineProvider } from './offline';
import { OpenAICompatibleProvider } from './openai-compatible';
import type { ChatProvider } from './provider';
import { ResilientProvider } from './resilient-provider';

/** The configured provider, wrapped in the shared retry and timeout policy. */
export function createProvider(config: ChatConfig, logger: Logger): ChatProvider {
  return new ResilientProvider(createBareProvider(config, logger), {
    maxRetries: config.LLM_MAX_RETRIES,
    retryBaseMs: config.LLM_RETRY_BASE_MS,
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    idleTimeoutMs: config.LLM_IDLE_TIMEOUT_MS,
    logger,
  });
}

function createBareProvider(config: ChatConfig, logger: Logger): ChatProvider {
  switch (config.LLM_PROVIDER) {
    case 'gemini':
      return new GeminiProvider({ apiKey: config.GEMINI_API_KEY, baseUrl: config.GEMINI_BASE_URL });
    case 'openai-compatible':
      return new OpenAICompatibleProvider({
        baseUrl: config.LLM_BASE_URL,
        apiKey: config.LLM_API_KEY,
        logger,
      });
    case 'offline':
      return new OfflineProvider({ tokenIntervalMs: config.OFFLINE_TOKEN_INTERVAL_MS });
  }
}
