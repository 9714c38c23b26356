import { join } from 'node:path';
import { z } from 'zod';
import { env, loadConfig } from '../../common/config/load-config';
import { projectRoot } from '../../common/config/paths';
import { commonEnv, databaseEnv } from '../../common/config/service-env';
import { modelCatalogEnv } from '../../common/stores/published-model-catalog';

export const conversationEnv = {
  ...commonEnv,
  CONVERSATION_PORT: env.port(4002),
  DATABASE_URL: env.postgresUrl(),
  ...databaseEnv,
  CONVERSATION_DB_SCHEMA: env.pgSchema('conversation'),
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default('conversation:'),
  /** The model catalog chat publishes (the key it writes), which stored settings are checked against. */
  ...modelCatalogEnv,
  /** How long a cached list page, conversation or message page may live in Redis. */
  CONVERSATION_CACHE_TTL_SECONDS: env.int(300, 1),
  /** Conversations one user may create per window, whichever way (createConversation, a first message). */
  CONVERSATION_CREATION_BUDGET: env.budget({ points: 100, durationSeconds: 600 }),
  /** The longest message content accepted, in characters. */
  MESSAGE_MAX_CHARS: env.int(32_000, 1),
  /** Signed-identity issuers allowed to call the internal (`@inaccessible`) operations. */
  INTERNAL_CALLERS: env.list(['chat']),
  CHROMA_URL: env.url(),
  /** Put in front of every collection name, so deployments (or test files) can share one Chroma. */
  CHROMA_COLLECTION_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]*$/, 'may hold only letters, digits, "_" and "-"')
    .default(''),
  /** A Chroma or embedding call that takes longer counts as that dependency being unavailable. */
  SEARCH_TIMEOUT_MS: env.int(5_000, 1),
  /** Run the background indexer here; turn off on replicas that should only serve requests. */
  SEARCH_INDEXER_ENABLED: env.boolean(true),
  SEARCH_INDEXER_POLL_MS: env.int(1_000, 10),
  SEARCH_INDEXER_WAKE_DELAY_MS: env.int(1_000, 0),
  SEARCH_INDEXER_BATCH_SIZE: env.int(64, 1),
  /** The longest wait before a failed batch is retried (the backoff doubles up to it). */
  SEARCH_INDEXER_MAX_BACKOFF_MS: env.int(30_000, 10),
  /** When set, messages are embedded with Gemini; otherwise with the offline word-vector model. */
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_EMBEDDING_MODEL: z.string().default('gemini-embedding-001'),
  /** Needed only for a model search/embeddings/gemini.ts does not know; a known model's own otherwise. */
  GEMINI_EMBEDDING_DIMENSIONS: z.coerce.number().int().min(1).optional(),
  /** Another Gemini-compatible endpoint (a proxy, or a loopback server in tests). */
  GEMINI_BASE_URL: env.url().optional(),
  /** Where the offline word vectors are kept in compact binary form after the first load. */
  EMBEDDINGS_CACHE_DIR: z.string().default(join(projectRoot(), '.data', 'embeddings')),
};

export type ConversationConfig = ReturnType<typeof loadConversationConfig>;
export const loadConversationConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(conversationEnv, source);
