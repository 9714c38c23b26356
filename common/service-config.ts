import { env } from './config';

/** Variables every service reads; each service adds its own. */
export const commonEnv = {
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  IDENTITY_SECRET: env.identitySecret(),
};

/**
 * Variables of the services that keep data in PostgreSQL (see DatabaseTimeouts in database.ts). The
 * longest a request waits on an unavailable PostgreSQL is about their sum, which stays under what
 * callers wait for the service (CONVERSATION_TIMEOUT_MS, SUBGRAPH_TIMEOUT_MS), so that their answer
 * names PostgreSQL rather than the service.
 */
export const databaseEnv = {
  /** A statement PostgreSQL has not answered by then fails the request as PostgreSQL unavailable. */
  DATABASE_QUERY_TIMEOUT_MS: env.int(3_000, 1),
  /** The longest wait for a new connection to PostgreSQL, or for a free one in the pool. */
  DATABASE_CONNECT_TIMEOUT_MS: env.int(1_500, 1),
};

export const databaseTimeoutsOf = (config: {
  DATABASE_QUERY_TIMEOUT_MS: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
}) => ({
  queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
  connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
});
