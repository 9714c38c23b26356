import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../../common/config/load-config';
import { commonEnv } from '../../common/config/service-env';
import { DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS } from '../../common/server/subgraph-websocket';

/**
 * Every provider chat can generate with. LLM_PROVIDER and the stored generation records read it from
 * here; `Model.provider` (schema/model.type.ts) and createProvider fail to compile until they know a new one.
 */
export const PROVIDER_NAMES = ['offline', 'gemini', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
const providerName = z.enum(PROVIDER_NAMES);

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant in a chat application. Answer clearly and concisely, use Markdown ' +
  'where it helps, and say so when you are unsure rather than inventing facts.';

/** Messages recalled into one prompt, at most: `Generation.context` lists no more. */
export const MAX_RECALL_LIMIT = 20;

export const chatEnv = {
  ...commonEnv,
  CHAT_PORT: env.port(4003),
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default('chat:'),
  /** The conversation subgraph, called directly (not through the gateway) for history and message writes. */
  CONVERSATION_URL: env.url().default('http://localhost:4002/graphql'),
  CONVERSATION_TIMEOUT_MS: env.int(5_000, 1),
  /** graphql-ws connections this process holds (the gateways' upstream sockets); more are refused. */
  WS_MAX_CONNECTIONS: env.int(DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS.maxConnections, 1),

  /** Unset means: Gemini when GEMINI_API_KEY is set, else the offline model. */
  LLM_PROVIDER: providerName.optional(),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_MODEL: z.string().default('gemini-2.5-flash'),
  /** Another Gemini-compatible endpoint (a proxy, or a loopback server in tests). */
  GEMINI_BASE_URL: env.url().optional(),
  LLM_BASE_URL: env.url().optional(),
  LLM_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().default('llama3.1'),
  SYSTEM_PROMPT: z.string().default(DEFAULT_SYSTEM_PROMPT),
  LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
  LLM_MAX_OUTPUT_TOKENS: env.int(2_048, 1),
  /** The model's context window; history is trimmed (oldest first) to fit it with the reply. */
  LLM_CONTEXT_TOKENS: env.int(8_192, 512),
  /** A provider that sends nothing for this long before the first token, or between two chunks, has failed. */
  LLM_FIRST_TOKEN_TIMEOUT_MS: env.int(30_000, 1),
  LLM_IDLE_TIMEOUT_MS: env.int(30_000, 1),
  /** Retries of a rate-limited or unavailable provider, only before the first token (never duplicates text). */
  LLM_MAX_RETRIES: env.int(2, 0),
  LLM_RETRY_BASE_MS: env.int(500, 1),
  /** The offline model's pace: one word per interval, like a real model streaming. */
  OFFLINE_TOKEN_INTERVAL_MS: env.int(30, 0),

  /** How many messages of the active branch are fetched for a prompt (before token trimming). */
  HISTORY_MAX_MESSAGES: z.coerce.number().int().min(1).max(100, 'must be at most 100 (a page)').default(50),
  /** Add the most similar messages from the user's other conversations to the prompt. */
  RECALL_ENABLED: env.boolean(true),
  RECALL_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_RECALL_LIMIT, `must be at most ${MAX_RECALL_LIMIT} (Generation.context's size)`)
    .default(3),
  /**
   * How long a reply waits for recall before it is written without it: recall runs beside the
   * history fetch, and a slow search must not hold up the first token.
   */
  RECALL_TIMEOUT_MS: env.int(300, 1),
  MESSAGE_MAX_CHARS: env.int(32_000, 1),

  /** How often a streaming reply's content is saved to the conversation subgraph. */
  CHECKPOINT_INTERVAL_MS: env.int(1_000, 10),
  /**
   * A generation whose process has not renewed its lease for this long is taken to be abandoned.
   * The process renews it every third of it, on a timer apart from the checkpoints.
   */
  GENERATION_LEASE_MS: env.int(3_000, 30),
  /** How often every replica looks for abandoned generations to settle as INTERRUPTED. */
  RECOVERY_INTERVAL_MS: env.int(500, 10),
  /** A subscriber that has received nothing for this long gets a HEARTBEAT while the reply is alive. */
  HEARTBEAT_INTERVAL_MS: env.int(2_000, 10),
  /** A subscription with no event and no heartbeat for this long ends with UPSTREAM_UNAVAILABLE. */
  STREAM_STALL_TIMEOUT_MS: env.int(10_000, 10),
  /** How long a finished reply retries its save before it ends its subscribers and is left to recovery. */
  FINAL_SAVE_DEADLINE_MS: env.int(30_000, 0),
  /** How long a finished generation's event stream stays replayable. */
  GENERATION_STREAM_TTL_SECONDS: env.int(3_600, 1),
  /** How long a generation's record (Message.generation, usage, timings) is kept. */
  GENERATION_RETENTION_DAYS: env.int(30, 1),
  /** How long shutdown waits for running generations before saving them as INTERRUPTED. */
  SHUTDOWN_GRACE_MS: env.int(10_000, 0),

  QUOTA_CONCURRENT_GENERATIONS: env.int(3, 1),
  QUOTA_DAILY_TOKENS: env.int(200_000, 1),
};

type ChatEnv = ReturnType<typeof loadConfig<typeof chatEnv>>;

/** What each provider needs, checked at start, so that code reading it needs no casts. */
type ProviderConfig =
  | { LLM_PROVIDER: 'offline' }
  | { LLM_PROVIDER: 'gemini'; GEMINI_API_KEY: string }
  | { LLM_PROVIDER: 'openai-compatible'; LLM_BASE_URL: string };

export type ChatConfig = Omit<ChatEnv, 'LLM_PROVIDER'> & ProviderConfig;

/** The provider's part of the configuration, or a problem naming the variable it lacks. */
function providerConfig(config: ChatEnv): ProviderConfig | string {
  const provider: ProviderName = config.LLM_PROVIDER ?? (config.GEMINI_API_KEY ? 'gemini' : 'offline');
  switch (provider) {
    case 'offline':
      return { LLM_PROVIDER: provider };
    case 'gemini':
      return config.GEMINI_API_KEY
        ? { LLM_PROVIDER: provider, GEMINI_API_KEY: config.GEMINI_API_KEY }
        : 'GEMINI_API_KEY: required when LLM_PROVIDER is gemini';
    case 'openai-compatible':
      return config.LLM_BASE_URL
        ? { LLM_PROVIDER: provider, LLM_BASE_URL: config.LLM_BASE_URL }
        : 'LLM_BASE_URL: required when LLM_PROVIDER is openai-compatible';
  }
}

export function loadChatConfig(source: NodeJS.ProcessEnv = process.env): ChatConfig {
  const config = loadConfig(chatEnv, source);
  const provider = providerConfig(config);
  const problems: string[] = [];
  if (typeof provider === 'string') problems.push(provider);
  if (config.LLM_MAX_OUTPUT_TOKENS >= config.LLM_CONTEXT_TOKENS) {
    problems.push('LLM_MAX_OUTPUT_TOKENS: must be smaller than LLM_CONTEXT_TOKENS');
  }
  if (config.STREAM_STALL_TIMEOUT_MS <= config.HEARTBEAT_INTERVAL_MS) {
    problems.push(
      'STREAM_STALL_TIMEOUT_MS: must be longer than HEARTBEAT_INTERVAL_MS, or live subscriptions would end',
    );
  }
  if (problems.length > 0 || typeof provider === 'string') throw new ConfigError(problems);
  return { ...config, ...provider };
}
