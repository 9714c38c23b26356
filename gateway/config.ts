import { z } from 'zod';
import { env, loadConfig } from '../common/config';
import { commonEnv } from '../common/service-config';
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
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const loadGatewayConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(gatewayEnv, source);

export function subgraphUrl(config: GatewayConfig, name: string): string | undefined {
  const subgraph = SUBGRAPHS.find((s) => s.name === name);
  return subgraph ? config[subgraph.urlVariable] : undefined;
}
