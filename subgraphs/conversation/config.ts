import { z } from 'zod';
import { env, loadConfig } from '../../common/config';
import { commonEnv } from '../../common/service-config';

export const conversationEnv = {
  ...commonEnv,
  CONVERSATION_PORT: env.port(4002),
  DATABASE_URL: z.string().startsWith('postgres', 'must be a postgres:// URL'),
  CONVERSATION_DB_SCHEMA: env.pgSchema('conversation'),
  REDIS_URL: z.string().startsWith('redis', 'must be a redis:// URL'),
  REDIS_KEY_PREFIX: z.string().default('conversation:'),
  CHROMA_URL: env.url(),
};

export type ConversationConfig = ReturnType<typeof loadConversationConfig>;
export const loadConversationConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(conversationEnv, source);
