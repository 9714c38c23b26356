import { env } from './load-config';
import { operationLimitsEnv } from '../graphql/operation-limits';
import { shutdownEnv } from '../server/graceful-shutdown';
import { telemetryEnv } from '../telemetry/tracing';

/** Variables every service reads; each service adds its own. */
export const commonEnv = {
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  IDENTITY_SECRET: env.identitySecret(),
  // The gateway refuses past these, and every subgraph on its own (common/server/subgraph-guard.ts).
  ...operationLimitsEnv,
  ...shutdownEnv,
  ...telemetryEnv,
};

/**
 * Variables of the services that keep data in PostgreSQL (see DatabaseTimeouts in database.ts). The
 * longest a request waits on an unavailable PostgreSQL is about the sum of the stall and two
 * connect timeouts (the pool, then the check), which stays under what
 * callers wait for the service (CONVERSATION_TIMEOUT_MS, SUBGRAPH_TIMEOUT_MS), so that their answer
 * names PostgreSQL rather than the service.
 */
export const databaseEnv = {
  /**
   * A statement without a byte from PostgreSQL this long makes the service check that PostgreSQL
   * answers at all; if it does not, the statement fails as PostgreSQL unavailable. A slow statement
   * on a server that answers goes on.
   */
  DATABASE_STALL_TIMEOUT_MS: env.int(2_000, 1),
  /** The longest wait for a new connection to PostgreSQL, for a free one in the pool, and for that check. */
  DATABASE_CONNECT_TIMEOUT_MS: env.int(1_500, 1),
};

export const databaseTimeoutsOf = (config: {
  DATABASE_STALL_TIMEOUT_MS: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
}) => ({
  stallTimeoutMs: config.DATABASE_STALL_TIMEOUT_MS,
  connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
});
