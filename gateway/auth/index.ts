import { GraphQLError } from 'graphql';
import { AppError } from '../../common/errors/errors';
import type { Identity } from '../../common/identity/identity';
import type { Logger } from '../../common/logging/logger';
import { createRedis } from '../../common/stores/redis';
import { SessionRevocationList } from '../../common/identity/session-revocation';
import { type GatewayConfig, jwksUrl } from '../config';
import type { ContextInput, GatewayContext, SessionWatch } from '../context';
import { createAccessTokenVerifier } from './access-token-verifier';
import { Authenticator } from './authenticator';
import { TrustedProxies } from './client-details';
import { httpKeySet, JwksCache } from './jwks-cache';
import { SessionWatcher } from './session-watcher';

export interface GatewayAuthentication {
  /** The caller's identity; rejects with an AppError when the token is bad or cannot be checked. */
  identify: (input: ContextInput, requestId: string) => Promise<Identity>;
  /** Ends a subscription's stream once its session is revoked. */
  watchSession: (context: GatewayContext) => SessionWatch;
  stop: () => void;
}

/**
 * Access-token verification against auth's JWKS, and the session revocation list in Redis.
 * `now` is the clock tokens are checked against (tests move it instead of waiting).
 */
export function createGatewayAuthentication(
  config: GatewayConfig,
  logger: Logger,
  now?: () => number,
): GatewayAuthentication {
  const redis = createRedis({ url: config.REDIS_URL, keyPrefix: config.SESSION_REVOCATION_PREFIX, logger });
  const revocations = new SessionRevocationList(redis);
  const keys = new JwksCache({
    fetchKeySet: httpKeySet(jwksUrl(config), config.JWKS_TIMEOUT_MS),
    maxAgeMs: config.JWKS_MAX_AGE_MS,
    cooldownMs: config.JWKS_COOLDOWN_MS,
    logger,
  });
  const authenticator = new Authenticator({
    verify: createAccessTokenVerifier({
      keys,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      now,
    }),
    revocations,
    trustedProxies: new TrustedProxies(config.TRUSTED_PROXIES),
    logger,
  });
  const watcher = new SessionWatcher(revocations, config.SESSION_WATCH_INTERVAL_MS, logger);
  return {
    identify: (input, requestId) => authenticator.identify(input, requestId),
    watchSession: watcher.watch,
    stop: () => {
      watcher.stop();
      redis.disconnect();
    },
  };
}

/**
 * What Apollo's context function throws for a refused caller: a GraphQL error with the code,
 * the request id and the HTTP status (401, 503), as Apollo expects it. Other errors pass as they are.
 */
export function contextRefusal(error: unknown, requestId: string): unknown {
  if (!(error instanceof AppError)) return error;
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, requestId, http: { status: error.httpStatus } },
  });
}
