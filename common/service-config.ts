import { env } from './config';
import { operationLimitsEnv } from './operation-limits';

/** Variables every service reads; each service adds its own. */
export const commonEnv = {
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  IDENTITY_SECRET: env.identitySecret(),
  // The gateway refuses past these, and every subgraph on its own (common/subgraph-guard.ts).
  ...operationLimitsEnv,
};
