import { env, loadConfig } from '../../common/config';
import { commonEnv } from '../../common/service-config';
import { z } from 'zod';

export const authEnv = {
  ...commonEnv,
  AUTH_PORT: env.port(4001),
  DATABASE_URL: z.string().startsWith('postgres', 'must be a postgres:// URL'),
  AUTH_DB_SCHEMA: env.pgSchema('auth'),
};

export type AuthConfig = ReturnType<typeof loadAuthConfig>;
export const loadAuthConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(authEnv, source);
