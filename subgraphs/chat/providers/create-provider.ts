import type { Logger } from '../../../common/logging/logger';
import { tracingRecorded } from '../../../common/telemetry/tracing';
import type { ChatConfig, ProviderEndpoint } from '../config';
import { GeminiProvider } from './gemini';
import { OfflineProvider } from './offline';
import { OpenAICompatibleProvider } from './openai-compatible';
import type { ChatProvider, ModelSource } from './provider';
import { ResilientProvider } from './resilient-provider';
import { genAiProviderName, TracedProvider } from './traced-provider';

/** One configured provider: what generates with it, and what lists its models. */
export interface ProviderConnection {
  endpoint: ProviderEndpoint;
  /** Wrapped in the shared retry and timeout policy (each attempt a GenAI span, where spans are recorded). */
  provider: ChatProvider;
  models: ModelSource;
}

/** Every configured provider, in the configuration's order. */
export function createProviders(config: ChatConfig, logger: Logger): ProviderConnection[] {
  return config.PROVIDERS.map((endpoint) => {
    const bare = createBareProvider(config, endpoint, logger);
    const attempt = tracingRecorded() ? new TracedProvider(bare, genAiProviderName(endpoint)) : bare;
    return {
      endpoint,
      provider: new ResilientProvider(attempt, {
        maxRetries: config.LLM_MAX_RETRIES,
        retryBaseMs: config.LLM_RETRY_BASE_MS,
        firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
        idleTimeoutMs: config.LLM_IDLE_TIMEOUT_MS,
        logger,
      }),
      models: bare,
    };
  });
}

function createBareProvider(
  config: ChatConfig,
  endpoint: ProviderEndpoint,
  logger: Logger,
): ChatProvider & ModelSource {
  switch (endpoint.kind) {
    case 'gemini':
      return new GeminiProvider({ apiKey: endpoint.apiKey, baseUrl: endpoint.baseUrl });
    case 'openai-compatible':
      return new OpenAICompatibleProvider({
        baseUrl: endpoint.baseUrl,
        apiKey: endpoint.apiKey,
        logger: logger.child({ provider: endpoint.name }),
      });
    case 'offline':
      return new OfflineProvider({ tokenIntervalMs: config.OFFLINE_TOKEN_INTERVAL_MS });
  }
}
