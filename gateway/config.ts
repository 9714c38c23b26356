import { z } from 'zod';
import { accessTokenEnv } from '../common/access-token';
import { env, loadConfig } from '../common/config';
import { commonEnv } from '../common/service-config';
import { sessionRevocationEnv } from '../common/session-revocation';
import { SUBGRAPHS } from '../common/topology';

const subgraphUrls = Object.fromEntries(
  SUBGRAPHS.map((s) => [s.urlVariable, env.url().default(s.defaultUrl)]),
) as {
  [K in (typeof SUBGRAPHS)[number]['urlVariable']]: z.ZodDefault<z.ZodURL>;
};

export const gatewayEnv = {
  ...commonEnv,
  GATEWAY_PORT: env.port(4000),
  REDIS_URL: z.string().startsWith('redis', 'must be a redis:// URL'),
  REDIS_KEY_PREFIX: z.string().default('gateway:'),
  ...subgraphUrls,
  /** Development only: compose from the running subgraphs instead of the committed supergraph. */
  SUPERGRAPH_INTROSPECT: env.boolean(false),
  SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),
  /** Health probes of subgraphs give up after this long, so /health/all always answers. */
  HEALTH_TIMEOUT_MS: env.int(2000, 100),
  /** Upstream graphql-ws sockets per subgraph; client subscriptions are multiplexed over them. */
  SUBSCRIPTION_SOCKETS_PER_SUBGRAPH: env.int(2, 1),
  SUBSCRIPTIONS_PER_CONNECTION: env.int(25, 1),
  SUBSCRIPTIONS_PER_USER: env.int(100, 1),
  /** Ping interval on client and upstream WebSockets. */
  WS_KEEPALIVE_MS: env.int(12_000, 1000),
  /** A streaming client whose unsent data passes this is disconnected (slow consumer). */
  STREAM_MAX_BUFFERED_BYTES: env.int(1024 * 1024, 1024),
  ...accessTokenEnv,
  ...sessionRevocationEnv,
  /** Auth's public keys; unset means `/.well-known/jwks.json` at AUTH_URL's origin. */
  JWKS_URL: env.url().optional(),
  /** The key set is refreshed (in the background) when older than this. */
  JWKS_MAX_AGE_MS: env.int(5 * 60_000, 1000),
  /** Least time between two JWKS fetches; auth's JWT_KEY_ACTIVATION_DELAY_SECONDS must exceed it. */
  JWKS_COOLDOWN_MS: env.int(5_000),
  JWKS_TIMEOUT_MS: env.int(2_000, 100),
  /** Proxies of ours in front of the gateway whose X-Forwarded-For entries give the client address. */
  TRUSTED_PROXY_HOPS: env.int(0),
  /** How often open subscriptions are checked for a revoked session. */
  SESSION_WATCH_INTERVAL_MS: env.int(5_000, 50),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const loadGatewayConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(gatewayEnv, source);

export const jwksUrl = (config: GatewayConfig): string =>
  config.JWKS_URL ?? new URL('/.well-known/jwks.json', config.AUTH_URL).toString();

export function subgraphUrl(config: GatewayConfig, name: string): string | undefined {
  const subgraph = SUBGRAPHS.find((s) => s.name === name);
  return subgraph ? config[subgraph.urlVariable] : undefined;
}
