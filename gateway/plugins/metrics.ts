import type { GraphQLSchema } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CIRCUIT_STATE_VALUES, type CircuitState } from '../circuit-breaker';
import type { SupergraphStatus } from '../supergraph/current';
import { outcomeOf, sentErrors } from './outcome';
import type { GatewayPlugin } from './plugin';
import type { Budget } from './rate-limit';
import { tokenEventCounter } from './stream-tokens';

export interface MetricsOptions {
  path: string;
  /** Upstream subscriptions open per subgraph (the subscription pool knows them). */
  upstreamSubscriptions: (subgraph: string) => number;
  /** Each subgraph's circuit, closed, half-open or open. */
  circuitState: (subgraph: string) => CircuitState;
  /** The supergraph served, and the new ones applied and refused since boot. */
  supergraph: () => SupergraphStatus | undefined;
  subgraphs: readonly string[];
  /** The API schema, to recognise generation events in subscription results. */
  schema: () => GraphQLSchema;
  /** Distinct operation names kept as labels; later ones are counted as `other` (clients choose names). */
  maxOperationNames: number;
  /** Node.js process metrics (memory, event loop lag, GC). */
  processMetrics: boolean;
}

export const DEFAULT_METRICS = {
  path: '/metrics',
  maxOperationNames: 200,
  processMetrics: true,
} satisfies Partial<MetricsOptions>;

export interface MetricsPlugin extends GatewayPlugin {
  countRateLimitRefusal: (budget: Budget) => void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How often the event loop's delay is sampled (`nodejs_eventloop_lag_*`). prom-client's 10 ms woke an
 * idle gateway 100 times a second, about 6 ms of CPU a second for nothing; a stall longer than this is
 * always seen, a shorter one in proportion to its length.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Prometheus metrics at `GET /metrics`, in a registry of this gateway's own: operations by name,
 * type and outcome with their latency; subgraph fetch latency; rate-limit refusals by budget;
 * open subscriptions (client side and per subgraph upstream); each subgraph's circuit; the
 * supergraph served and its reloads; generation tokens streamed.
 */
export function useMetrics(options: MetricsOptions): MetricsPlugin {
  const registry = new Registry();
  if (options.processMetrics)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const operations = new Counter({
    name: 'gateway_operations_total',
    help: 'Operations answered, by operation name, type and outcome (ok or the first error code)',
    labelNames: ['operation', 'type', 'outcome'],
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: 'gateway_operation_duration_seconds',
    help: 'Time from receiving a query or mutation to sending its response',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const fetchDuration = new Histogram({
    name: 'gateway_subgraph_fetch_duration_seconds',
    help: 'Time of each subgraph request, by subgraph and outcome (ok, errors, failed)',
    labelNames: ['subgraph', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'gateway_rate_limit_refusals_total',
    help: 'Operations refused for a spent rate-limit budget',
    labelNames: ['budget'],
    registers: [registry],
  });
  const openSubscriptions = new Gauge({
    name: 'gateway_subscriptions_open',
    help: 'Client subscriptions open on this gateway',
    registers: [registry],
  });
  new Gauge({
    name: 'gateway_upstream_subscriptions_open',
    help: 'Subscriptions this gateway holds open to each subgraph',
    labelNames: ['subgraph'],
    registers: [registry],
    collect() {
      for (const subgraph of options.subgraphs)
        this.set({ subgraph }, options.upstreamSubscriptions(subgraph));
    },
  });
  new Gauge({
    name: 'gateway_subgraph_circuit_state',
    help: 'Each subgraph’s circuit breaker: 0 closed, 1 half-open (probing), 2 open (failing fast)',
    labelNames: ['subgraph'],
    registers: [registry],
    collect() {
      for (const subgraph of options.subgraphs)
        this.set({ subgraph }, CIRCUIT_STATE_VALUES[options.circuitState(subgraph)]);
    },
  });
  new Counter({
    name: 'gateway_supergraph_reloads_total',
    help: 'New supergraphs since boot: applied (served from then on) or refused (the one before kept serving)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const status = options.supergraph();
      this.reset();
      this.inc({ outcome: 'applied' }, status?.applied ?? 0);
      this.inc({ outcome: 'refused' }, status?.refused ?? 0);
    },
  });
  new Counter({
    name: 'gateway_supergraph_source_errors_total',
    help: 'Reads of the supergraph source that failed since boot (a URL answering 5xx or not at all, a file read error); the supergraph served kept serving',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(options.supergraph()?.sourceErrors ?? 0);
    },
  });
  new Gauge({
    name: 'gateway_supergraph_info',
    help: 'The supergraph being served: 1, labelled with the SHA-256 of its SDL (its first 16 hex digits) and its source',
    labelNames: ['hash', 'source'],
    registers: [registry],
    collect() {
      const status = options.supergraph();
      this.reset();
      if (status) this.set({ hash: status.hash.slice(0, 16), source: status.source }, 1);
    },
  });
  new Gauge({
    name: 'gateway_supergraph_loaded_timestamp_seconds',
    help: 'When the supergraph being served began to be served (Unix time)',
    registers: [registry],
    collect() {
      const status = options.supergraph();
      if (status) this.set(status.loadedAt.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'gateway_supergraph_last_refusal_timestamp_seconds',
    help: 'When a new supergraph was last refused (Unix time; 0: none since boot)',
    registers: [registry],
    collect() {
      this.set((options.supergraph()?.lastRefusal?.at.getTime() ?? 0) / 1000);
    },
  });
  const streamedTokens = new Counter({
    name: 'gateway_streamed_tokens_total',
    help: 'Generation TOKEN events delivered to subscribers',
    registers: [registry],
  });

  const names = new Set<string>();
  const operationLabel = (name: string | null | undefined) => {
    if (!name) return 'anonymous';
    if (names.has(name)) return name;
    if (names.size >= options.maxOperationNames) return 'other';
    names.add(name);
    return name;
  };

  return {
    name: 'metrics',
    routes: (app) => {
      app.get(options.path, async (_req, res) => {
        res.setHeader('content-type', registry.contentType);
        res.send(await registry.metrics());
      });
    },
    apollo: {
      async requestDidStart() {
        const started = performance.now();
        return {
          async willSendResponse(context) {
            const labels = {
              // A name the client wrote but that never resolved to an operation is not a label.
              operation: context.operation ? operationLabel(context.operationName) : 'unresolved',
              type: context.operation?.operation ?? 'unknown',
              outcome: outcomeOf(sentErrors(context)),
            };
            operations.inc(labels);
            operationDuration.observe(labels, (performance.now() - started) / 1000);
          },
        };
      },
    },
    subscriptions: {
      observe: (request) => {
        openSubscriptions.inc();
        const countTokens = tokenEventCounter(options.schema(), request.document, request.operationName);
        let outcome = 'ok';
        return {
          result: (result) => {
            const tokens = countTokens(result.data);
            if (tokens > 0) streamedTokens.inc(tokens);
            if (result.errors) outcome = outcomeOf(result.errors.map((error) => error.toJSON()));
            return result;
          },
          end: () => {
            openSubscriptions.dec();
            operations.inc({
              operation: operationLabel(request.operationName),
              type: 'subscription',
              outcome,
            });
          },
        };
      },
    },
    subgraphFetch: ({ subgraph, durationSeconds, outcome }) => {
      fetchDuration.observe({ subgraph, outcome }, durationSeconds);
    },
    countRateLimitRefusal: (budget) => refusals.inc({ budget }),
  };
}
