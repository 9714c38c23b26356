import { ConfigError } from '../../common/config/load-config';
import { loadChatConfig } from './config';

const base = { IDENTITY_SECRET: 'x'.repeat(32), REDIS_URL: 'redis://127.0.0.1:6379' };
const load = (env: Record<string, string>) => loadChatConfig({ ...base, ...env });
const problemsOf = (env: Record<string, string>): string[] => {
  try {
    load(env);
    return [];
  } catch (error) {
    return error instanceof ConfigError ? error.problems : [String(error)];
  }
};

describe('the chat providers configuration', () => {
  it('serves the offline model by default, and it is the default model', () => {
    const config = load({});
    expect(config.PROVIDERS).toEqual([{ name: 'offline', kind: 'offline' }]);
    expect(config.DEFAULT_MODEL).toBe('offline/echo');
  });

  it('serves offline, Gemini, the shorthand endpoint and every listed endpoint at once', () => {
    const config = load({
      GEMINI_API_KEY: 'g',
      LLM_BASE_URL: 'http://127.0.0.1:1/v1',
      OPENAI_COMPATIBLE_ENDPOINTS:
        'ollama=http://localhost:11434/v1, openai=https://api.openai.com/v1|sk-test',
    });
    expect(config.PROVIDERS).toEqual([
      { name: 'offline', kind: 'offline' },
      { name: 'gemini', kind: 'gemini', apiKey: 'g', baseUrl: undefined },
      {
        name: 'openai-compatible',
        kind: 'openai-compatible',
        baseUrl: 'http://127.0.0.1:1/v1',
        apiKey: undefined,
      },
      { name: 'ollama', kind: 'openai-compatible', baseUrl: 'http://localhost:11434/v1', apiKey: undefined },
      { name: 'openai', kind: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-test' },
    ]);
    // Gemini's key makes its current model the default, as LLM_PROVIDER unset always did.
    expect(config.DEFAULT_MODEL).toBe('gemini/gemini-3.5-flash');
  });

  it('keeps LLM_PROVIDER as the default model’s provider, and DEFAULT_MODEL overrides it', () => {
    expect(
      load({ LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'm' })
        .DEFAULT_MODEL,
    ).toBe('openai-compatible/m');
    expect(
      load({ LLM_PROVIDER: 'openai-compatible', OPENAI_COMPATIBLE_ENDPOINTS: 'ollama=http://127.0.0.1:1/v1' })
        .DEFAULT_MODEL,
    ).toBe('ollama/llama3.1');
    expect(
      load({ OPENAI_COMPATIBLE_ENDPOINTS: 'ollama=http://127.0.0.1:1/v1', DEFAULT_MODEL: 'ollama/qwen3:8b' })
        .DEFAULT_MODEL,
    ).toBe('ollama/qwen3:8b');
    expect(
      load({ OFFLINE_PROVIDER_ENABLED: 'false', LLM_BASE_URL: 'http://127.0.0.1:1/v1' }).DEFAULT_MODEL,
    ).toBe('openai-compatible/llama3.1');
  });

  it('refuses what it cannot serve, naming the variable', () => {
    expect(problemsOf({ LLM_PROVIDER: 'gemini' })).toEqual([
      'GEMINI_API_KEY: required when LLM_PROVIDER is gemini',
    ]);
    expect(problemsOf({ LLM_PROVIDER: 'openai-compatible' })).toEqual([
      'LLM_BASE_URL: required when LLM_PROVIDER is openai-compatible',
    ]);
    expect(problemsOf({ DEFAULT_MODEL: 'ollama/llama3.1' })).toEqual([
      'DEFAULT_MODEL: no provider named "ollama" is configured',
    ]);
    expect(problemsOf({ DEFAULT_MODEL: 'llama3.1' })).toEqual([
      expect.stringContaining('DEFAULT_MODEL: must be provider/model'),
    ]);
    expect(problemsOf({ OPENAI_COMPATIBLE_ENDPOINTS: 'ollama' })).toEqual([
      'OPENAI_COMPATIBLE_ENDPOINTS: "ollama" must be name=url or name=url|key',
    ]);
    expect(problemsOf({ OPENAI_COMPATIBLE_ENDPOINTS: 'a=http://127.0.0.1:1,a=http://127.0.0.1:2' })).toEqual([
      'OPENAI_COMPATIBLE_ENDPOINTS: the provider name "a" is used twice',
    ]);
    expect(problemsOf({ OFFLINE_PROVIDER_ENABLED: 'false' })).toEqual([
      'OFFLINE_PROVIDER_ENABLED: false, and no other provider is configured',
    ]);
    // A turn carries its recall's budget to the conversation subgraph, which takes no more than this.
    expect(problemsOf({ RECALL_TIMEOUT_MS: '20000' })).toEqual([
      "RECALL_TIMEOUT_MS: must be at most 10000 (the conversation subgraph's limit)",
    ]);
  });
});
