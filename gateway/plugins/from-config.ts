import { isAbsolute, join } from 'node:path';
import { operationLimitsFrom } from '../../common/graphql/operation-limits';
import { projectRoot } from '../../common/config/paths';
import { type GatewayConfig, introspectionEnabled } from '../config';
import { playgroundEnabled, usePlayground } from '../playground';
import type { EdgeFeatures } from './index';
import { loadSafelist } from './persisted-queries';

const fromProjectRoot = (path: string) => (isAbsolute(path) ? path : join(projectRoot(), path));

function persistedQueriesFrom(config: GatewayConfig): EdgeFeatures['persistedQueries'] {
  const persisted = config.persistedQueries;
  if (persisted.mode === 'off') return false;
  if (persisted.mode === 'safelist')
    return { mode: 'safelist', safelist: loadSafelist(fromProjectRoot(persisted.manifest)) };
  return {
    mode: 'apq',
    ttlSeconds: config.APQ_TTL_SECONDS,
    registration: { maxDocumentBytes: config.APQ_MAX_DOCUMENT_BYTES, perCaller: config.APQ_REGISTRATIONS },
    // With APQ, a manifest's operations are found by hash for anyone, registered by no one.
    safelist: persisted.manifest ? loadSafelist(fromProjectRoot(persisted.manifest)) : undefined,
  };
}

/** The edge's features as the environment configures them (docs/gateway.md lists each variable). */
export function edgeFeaturesFrom(config: GatewayConfig): EdgeFeatures {
  return {
    tracing: config.TRACING_ENABLED,
    httpSecurity: { corsOrigins: config.CORS_ORIGINS },
    requestBody: { maxBytes: config.MAX_BODY_BYTES, maxBatchSize: config.MAX_BATCH_SIZE },
    operatorToken: config.OPERATOR_TOKEN,
    persistedQueries: persistedQueriesFrom(config),
    operationLimits: {
      ...operationLimitsFrom(config),
      maxRootFields: config.MAX_ROOT_FIELDS,
      introspection: introspectionEnabled(config),
    },
    rateLimit: config.RATE_LIMIT_ENABLED && {
      budgets: {
        operations: config.RATE_LIMIT_OPERATIONS,
        chatSends: config.RATE_LIMIT_CHAT_SENDS,
        authAttempts: config.RATE_LIMIT_AUTH_ATTEMPTS,
        subscriptions: config.RATE_LIMIT_SUBSCRIPTIONS,
      },
    },
    metrics: config.METRICS_ENABLED,
    accessLog: config.ACCESS_LOG_ENABLED,
    hideSuggestions: config.NODE_ENV === 'production',
    playground: usePlayground(playgroundEnabled(config)),
  };
}
