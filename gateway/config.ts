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
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const loadGatewayConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(gatewayEnv, source);

export function subgraphUrl(config: GatewayConfig, name: string): string | undefined {
  const subgraph = SUBGRAPHS.find((s) => s.name === name);
  return subgraph ? config[subgraph.urlVariable] : undefined;
}
