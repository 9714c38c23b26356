import type { Redis } from 'ioredis';
import { type ComponentHealth, type HealthDetails, probe } from '../common/server/health';
import type { Logger } from '../common/logging/logger';
import { SUBGRAPHS } from '../common/config/topology';
import type { CircuitState } from './circuit-breaker';
import { type GatewayConfig, subgraphUrls } from './config';
import type { SupergraphStatus } from './supergraph/current';

/** A subgraph's health says, besides, whether the gateway's circuit to it is open. */
type PlatformComponentHealth = ComponentHealth & { circuit?: CircuitState };

export interface PlatformHealth {
  status: 'ok' | 'down';
  /** Flat names, `auth` for a subgraph, `auth.postgres` for its data store, `gateway.redis`. */
  components: Record<string, PlatformComponentHealth>;
  /**
   * What subgraphs report beside their checks, by subgraph (chat: which models are served); under
   * `gateway`, the supergraph it serves and its reloads.
   */
  details: Record<string, HealthDetails>;
}

interface SubgraphHealthBody {
  status?: string;
  components?: Record<string, ComponentHealth>;
  details?: HealthDetails;
}

/** `/health/all`: every subgraph and every data store behind them. It never calls the LLM. */
async function platformHealth(
  config: GatewayConfig,
  redis: Redis,
  circuitState: (subgraph: string) => CircuitState,
): Promise<PlatformHealth> {
  const timeoutMs = config.HEALTH_TIMEOUT_MS;
  const components: Record<string, PlatformComponentHealth> = {};
  const details: Record<string, HealthDetails> = {};
  const gatewayRedis = probe(() => redis.ping(), timeoutMs).then((health) => {
    components['gateway.redis'] = health;
  });
  const urls = subgraphUrls(config);
  const subgraphs = SUBGRAPHS.map(async ({ name }) => {
    const healthUrl = new URL('/health', urls[name]).toString();
    let body: SubgraphHealthBody = {};
    const health = await probe(async () => {
      const response = await fetch(healthUrl, { signal: AbortSignal.timeout(timeoutMs) });
      body = (await response.json()) as SubgraphHealthBody;
      // Degraded means up, with a dependency down: that dependency is listed on its own below.
      if (body.status !== 'ok' && body.status !== 'degraded')
        throw new Error(`${name} reports ${body.status ?? response.status}`);
    }, timeoutMs);
    components[name] = { ...health, circuit: circuitState(name) };
    for (const [store, health] of Object.entries(body.components ?? {}))
      components[`${name}.${store}`] = health;
    if (body.details) details[name] = body.details;
  });
  await Promise.all([gatewayRedis, ...subgraphs]);
  const status = Object.values(components).every((c) => c.status === 'ok') ? 'ok' : 'down';
  return {
    status,
    components: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    details,
  };
}

/** How long one `/health/all` report is reused: each one costs a request to every subgraph and store. */
const REPORT_REUSE_MS = 1000;

/**
 * `/health/all` as served: one report at a time, reused for a second, so callers cannot multiply
 * the probes; what went wrong with a component is logged, and the answer says only which one.
 */
export function servedPlatformHealth(
  config: GatewayConfig,
  redis: Redis,
  logger: Logger,
  circuitState: (subgraph: string) => CircuitState,
  supergraph: () => SupergraphStatus | undefined,
): () => Promise<PlatformHealth> {
  let latest: { at: number; report: Promise<PlatformHealth> } | undefined;
  const fresh = async (): Promise<PlatformHealth> => {
    const report = await platformHealth(config, redis, circuitState);
    const components: Record<string, PlatformComponentHealth> = {};
    for (const [name, { error, ...health }] of Object.entries(report.components)) {
      if (error) logger.warn({ component: name, err: error }, 'health check failed');
      components[name] = health;
    }
    return {
      status: report.status,
      components,
      details: { ...report.details, gateway: { supergraph: supergraph() } },
    };
  };
  return () => {
    if (!latest || performance.now() - latest.at > REPORT_REUSE_MS)
      latest = { at: performance.now(), report: fresh() };
    return latest.report;
  };
}
