import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../../common/config';
import { commonEnv } from '../../common/service-config';

const providerName = z.enum(['offline', 'gemini', 'openai-compatible']);
export type ProviderName = z.infer<typeof providerName>;

export const chatEnv = {
  ...commonEnv,
  CHAT_PORT: env.port(4003),
  REDIS_URL: z.string().startsWith('redis', 'must be a redis:// URL'),
  REDIS_KEY_PREFIX: z.string().default('chat:'),
  /** Unset means: Gemini when GEMINI_API_KEY is set, else the offline model. */
  LLM_PROVIDER: providerName.optional(),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_MODEL: z.string().default('gemini-2.5-flash'),
  LLM_BASE_URL: env.url().optional(),
  LLM_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().default('llama3.1'),
};

export type ChatConfig = Omit<ReturnType<typeof loadConfig<typeof chatEnv>>, 'LLM_PROVIDER'> & {
  LLM_PROVIDER: ProviderName;
};

export function loadChatConfig(source: NodeJS.ProcessEnv = process.env): ChatConfig {
  const config = loadConfig(chatEnv, source);
  const provider: ProviderName = config.LLM_PROVIDER ?? (config.GEMINI_API_KEY ? 'gemini' : 'offline');
  if (provider === 'gemini' && !config.GEMINI_API_KEY) {
    throw new ConfigError(['GEMINI_API_KEY: required when LLM_PROVIDER is gemini']);
  }
  if (provider === 'openai-compatible' && !config.LLM_BASE_URL) {
    throw new ConfigError(['LLM_BASE_URL: required when LLM_PROVIDER is openai-compatible']);
  }
  return { ...config, LLM_PROVIDER: provider };
}
