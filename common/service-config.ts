import { env } from './config';

/** Variables every service reads; each service adds its own. */
export const commonEnv = {
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  IDENTITY_SECRET: env.identitySecret(),
};
