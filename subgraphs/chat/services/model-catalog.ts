import type { ChatConfig, ProviderName } from '../config';

export interface ModelInfo {
  id: string;
  provider: ProviderName;
  description: string;
  isDefault: boolean;
}

/** The offline model's name says what it is, wherever it shows up (Generation.model, `models`). */
export const OFFLINE_MODEL_ID = 'offline-echo (not a language model)';

/** What this deployment is configured to generate with: one provider, its default model first. */
export function configuredModels(config: ChatConfig): ModelInfo[] {
  switch (config.LLM_PROVIDER) {
    case 'gemini':
      return [{ id: config.GEMINI_MODEL, provider: 'gemini', description: 'Google Gemini', isDefault: true }];
    case 'openai-compatible':
      return [
        {
          id: config.LLM_MODEL,
          provider: 'openai-compatible',
          description: `OpenAI-compatible server at ${new URL(config.LLM_BASE_URL).host}`,
          isDefault: true,
        },
      ];
    case 'offline':
      return [
        {
          id: OFFLINE_MODEL_ID,
          provider: 'offline',
          description:
            'Built-in offline responder for development: it composes a deterministic reply from your message and is not a language model.',
          isDefault: true,
        },
      ];
  }
}
