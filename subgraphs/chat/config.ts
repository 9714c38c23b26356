import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../../common/config/load-config';
import { commonEnv } from '../../common/config/service-env';
import { DEFAULT_SUBGRAPH_WEBSOCKET_LIMITS } from '../../common/server/subgraph-websocket';
import { modelCatalogEnv } from '../../common/stores/published-model-catalog';
import { MAX_RECALL_BUDGET_MS } from '../../common/records/turn-recall.record';

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
/** The most memories a prompt holds: all a user may keep (the conversation subgraph's MAX_MEMORIES). */
export const MAX_MEMORIES_IN_PROMPT = 200;

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

  /**
   * The model a message naming none goes to, as `provider/model` (`ollama/llama3.1`). Unset: the
   * default model of LLM_PROVIDER (GEMINI_MODEL, LLM_MODEL or the offline model).
   */
  DEFAULT_MODEL: z
    .string()
    .regex(/^[^/]+\/.+$/, 'must be provider/model, e.g. gemini/gemini-3.5-flash')
    .optional(),
  /** The old single choice: now only whose model is the default when DEFAULT_MODEL is unset. */
  LLM_PROVIDER: providerName.optional(),
  /** The offline responder is served beside the others unless this is false. */
  OFFLINE_PROVIDER_ENABLED: env.boolean(true),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_MODEL: z.string().default('gemini-3.5-flash'),
  /** Another Gemini-compatible endpoint (a proxy, or a loopback server in tests). */
  GEMINI_BASE_URL: env.url().optional(),
  /**
   * OpenAI-compatible servers, each `name=url` or `name=url|key`, comma-separated:
   * `ollama=http://localhost:11434/v1,openai=https://api.openai.com/v1|sk-...`. The name is the
   * models' namespace (`ollama/llama3.1`).
   */
  OPENAI_COMPATIBLE_ENDPOINTS: z.string().default(''),
  /** Shorthand for one OpenAI-compatible endpoint, named `openai-compatible`. */
  LLM_BASE_URL: env.url().optional(),
  LLM_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().default('llama3.1'),
  /** How often every provider is asked for its models; a provider that fails keeps its last list. */
  MODEL_REFRESH_INTERVAL_MS: env.int(60_000, 100),
  /** How long one provider's model listing may take before it counts as down. */
  MODEL_LIST_TIMEOUT_MS: env.int(5_000, 1),
  /** Where every refresh of the catalog is published for the conversation subgraph (the key it reads). */
  ...modelCatalogEnv,
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
   * How long a reply waits for recall before it is written without it: the conversation subgraph
   * answers a turn's write by then, recall or not, and a slow search must not hold up the first token.
   */
  RECALL_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_RECALL_BUDGET_MS, `must be at most ${MAX_RECALL_BUDGET_MS} (the conversation subgraph's limit)`)
    .default(300),
  /**
   * The most recalls one chat process has in flight; a turn over it is written without
   * recall (`Generation.context` shows none), so a burst of sends does not queue on search.
   */
  RECALL_MAX_IN_FLIGHT: env.int(8, 1),
  MESSAGE_MAX_CHARS: env.int(32_000, 1),

  /**
   * The shortest time between two token events of a reply: chunks a model sends faster go out
   * together, as one event (the first at once). 0 sends each chunk once the one before is stored.
   */
  TOKEN_EVENT_INTERVAL_MS: env.int(20, 0),
  /**
   * The token events a second the process aims to send across every reply it streams: past it,
   * each reply's interval grows (up to TOKEN_EVENT_MAX_INTERVAL_MS) so that a burst of replies
   * sends fewer, larger events (streams/token-pacing.ts). 0 keeps TOKEN_EVENT_INTERVAL_MS always.
   */
  TOKEN_EVENTS_PER_SECOND: env.int(1_000, 0),
  /** The longest a reply's tokens wait for their event under load (never less than TOKEN_EVENT_INTERVAL_MS). */
  TOKEN_EVENT_MAX_INTERVAL_MS: env.int(200, 0),
  /** How often a streaming reply's content is saved to the conversation subgraph. */
  CHECKPOINT_INTERVAL_MS: env.int(1_000, 10),
  /**
   * A generation whose process has not renewed its lease for this long is taken to be abandoned.
   * The process renews it every third of it, on a timer apart from the checkpoints.
   */
  GENERATION_LEASE_MS: env.int(3_000, 30),
  /** How often every replica looks for abandoned generations to settle as INTERRUPTED. */
  RECOVERY_INTERVAL_MS: env.int(500, 10),
  /**
   * How often every replica checks the STREAMING messages against Redis (at start, then this often):
   * one whose generation Redis lost is settled, or, with none left at all, ended as INTERRUPTED.
   */
  RECONCILE_INTERVAL_MS: env.int(60_000, 100),
  /** A subscriber that has received nothing for this long gets a HEARTBEAT while the reply is alive. */
  HEARTBEAT_INTERVAL_MS: env.int(2_000, 10),
  /** A subscription with no event and no heartbeat for this long ends with UPSTREAM_UNAVAILABLE. */
  STREAM_STALL_TIMEOUT_MS: env.int(10_000, 10),
  /** How long a finished reply retries its save before it ends its subscribers and is left to recovery. */
  FINAL_SAVE_DEADLINE_MS: env.int(30_000, 0),
  /** How long a finished generation's event stream stays replayable. */
  GENERATION_STREAM_TTL_SECONDS: env.int(3_600, 1),
  /** How long a generation's record (Message.generation, usage, timings) is kept. */
  GENERATION_RETENTION_DAYS: env.int(3, 1),
  /** How long shutdown waits for running generations before saving them as INTERRUPTED. */
  SHUTDOWN_GRACE_MS: env.int(10_000, 0),

  QUOTA_CONCURRENT_GENERATIONS: env.int(3, 1),
  QUOTA_DAILY_TOKENS: env.int(200_000, 1),
};

type ChatEnv = ReturnType<typeof loadConfig<typeof chatEnv>>;

/** One provider served beside the others: its namespace in model ids, and what builds it. */
export type ProviderEndpoint =
  | { name: 'offline'; kind: 'offline' }
  | { name: 'gemini'; kind: 'gemini'; apiKey: string; baseUrl?: string }
  | { name: string; kind: 'openai-compatible'; baseUrl: string; apiKey?: string };

export type ChatConfig = ChatEnv & {
  /** Every configured provider, in the order `models` lists them. */
  PROVIDERS: ProviderEndpoint[];
  /** DEFAULT_MODEL, or the one LLM_PROVIDER implies. */
  DEFAULT_MODEL: string;
};

/** The offline responder's model, namespaced like every other. */
export const OFFLINE_MODEL = 'offline/echo';
/** The namespace of the endpoint LLM_BASE_URL configures. */
export const SHORTHAND_ENDPOINT = 'openai-compatible';

const ENDPOINT_NAME = /^[a-z0-9][a-z0-9_.-]*$/i;

/** OPENAI_COMPATIBLE_ENDPOINTS parsed, or a problem naming the entry it cannot read. */
export function parseEndpoints(list: string): ProviderEndpoint[] | string {
  const endpoints: ProviderEndpoint[] = [];
  for (const entry of list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([^=]+)=([^|]+)(?:\|(.+))?$/.exec(entry);
    const name = match?.[1].trim() ?? '';
    if (!match || !ENDPOINT_NAME.test(name) || !URL.canParse(match[2].trim())) {
      return `OPENAI_COMPATIBLE_ENDPOINTS: "${entry.split('|')[0]}" must be name=url or name=url|key`;
    }
    endpoints.push({ name, kind: 'openai-compatible', baseUrl: match[2].trim(), apiKey: match[3]?.trim() });
  }
  return endpoints;
}

/** Every provider the environment configures; what is wrong with it goes into `problems`. */
function providerEndpoints(config: ChatEnv, problems: string[]): ProviderEndpoint[] {
  const endpoints: ProviderEndpoint[] = [];
  if (config.OFFLINE_PROVIDER_ENABLED) endpoints.push({ name: 'offline', kind: 'offline' });
  if (config.GEMINI_API_KEY) {
    endpoints.push({
      name: 'gemini',
      kind: 'gemini',
      apiKey: config.GEMINI_API_KEY,
      baseUrl: config.GEMINI_BASE_URL,
    });
  }
  if (config.LLM_BASE_URL) {
    endpoints.push({
      name: SHORTHAND_ENDPOINT,
      kind: 'openai-compatible',
      baseUrl: config.LLM_BASE_URL,
      apiKey: config.LLM_API_KEY,
    });
  }
  const listed = parseEndpoints(config.OPENAI_COMPATIBLE_ENDPOINTS);
  if (typeof listed === 'string') problems.push(listed);
  else endpoints.push(...listed);
  const names = endpoints.map((endpoint) => endpoint.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) problems.push(`OPENAI_COMPATIBLE_ENDPOINTS: the provider name "${repeated}" is used twice`);
  if (endpoints.length === 0) {
    problems.push('OFFLINE_PROVIDER_ENABLED: false, and no other provider is configured');
  }
  return endpoints;
}

/** DEFAULT_MODEL, else the default model of LLM_PROVIDER (Gemini when a key is set, else offline). */
function defaultModel(config: ChatEnv, endpoints: ProviderEndpoint[]): string {
  if (config.DEFAULT_MODEL) return config.DEFAULT_MODEL;
  const fallback: ProviderName = config.OFFLINE_PROVIDER_ENABLED ? 'offline' : 'openai-compatible';
  const provider = config.LLM_PROVIDER ?? (config.GEMINI_API_KEY ? 'gemini' : fallback);
  switch (provider) {
    case 'offline':
      return OFFLINE_MODEL;
    case 'gemini':
      return `gemini/${config.GEMINI_MODEL}`;
    case 'openai-compatible': {
      const endpoint = endpoints.find((candidate) => candidate.kind === 'openai-compatible');
      return `${endpoint?.name ?? SHORTHAND_ENDPOINT}/${config.LLM_MODEL}`;
    }
  }
}

export function loadChatConfig(source: NodeJS.ProcessEnv = process.env): ChatConfig {
  const config = loadConfig(chatEnv, source);
  const problems: string[] = [];
  const providers = providerEndpoints(config, problems);
  const model = defaultModel(config, providers);
  const defaultProvider = model.slice(0, model.indexOf('/'));
  if (problems.length === 0 && !providers.some((endpoint) => endpoint.name === defaultProvider)) {
    problems.push(
      config.LLM_PROVIDER === 'gemini' && !config.GEMINI_API_KEY
        ? 'GEMINI_API_KEY: required when LLM_PROVIDER is gemini'
        : config.LLM_PROVIDER === 'openai-compatible' &&
            providers.every((p) => p.kind !== 'openai-compatible')
          ? 'LLM_BASE_URL: required when LLM_PROVIDER is openai-compatible'
          : `DEFAULT_MODEL: no provider named "${defaultProvider}" is configured`,
    );
  }
  if (config.LLM_MAX_OUTPUT_TOKENS >= config.LLM_CONTEXT_TOKENS) {
    problems.push('LLM_MAX_OUTPUT_TOKENS: must be smaller than LLM_CONTEXT_TOKENS');
  }
  if (config.STREAM_STALL_TIMEOUT_MS <= config.HEARTBEAT_INTERVAL_MS) {
    problems.push(
      'STREAM_STALL_TIMEOUT_MS: must be longer than HEARTBEAT_INTERVAL_MS, or live subscriptions would end',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, PROVIDERS: providers, DEFAULT_MODEL: model };
}
