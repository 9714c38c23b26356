import autocannon from 'autocannon';
import { fixed, markdownTable } from './markdown';
import { CpuWindow } from './process-usage';

/** One thing to load: a GraphQL POST, its headers made fresh for every request when needed. */
export interface LoadTarget {
  name: string;
  url: string;
  body: string;
  headers?: () => Record<string, string>;
  /** The gateway's process, when the target is one: its CPU per request is read from /proc. */
  gatewayPid?: number;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, socket errors and timeouts: a run with any is not a fair figure. */
  failures: number;
  /** CPU milliseconds per request of the gateway (none for a subgraph loaded directly) and of the subgraphs' process. */
  gatewayCpuMs?: number;
  subgraphsCpuMs: number;
}

function run(target: LoadTarget, connections: number, durationSeconds: number) {
  const { pathname, origin } = new URL(target.url);
  return autocannon({
    url: origin,
    connections,
    duration: durationSeconds,
    requests: [
      {
        method: 'POST',
        path: pathname,
        body: target.body,
        setupRequest: (request) => ({
          ...request,
          headers: { 'content-type': 'application/json', ...target.headers?.() },
        }),
      },
    ],
  });
}

/**
 * Warms the target up (JIT, plan and connection caches), then measures it with the same load as
 * the others, reading the CPU the gateway and the subgraphs' process (`subgraphsPid`) used meanwhile.
 */
export async function measure(
  target: LoadTarget,
  options: LoadOptions,
  subgraphsPid: number,
): Promise<LoadResult> {
  await run(target, options.connections, options.warmupSeconds);
  const window = new CpuWindow(target.gatewayPid ? [subgraphsPid, target.gatewayPid] : [subgraphsPid]);
  window.begin();
  const result = await run(target, options.connections, options.durationSeconds);
  const [subgraphsCpu, gatewayCpu] = window.end().cpuSeconds;
  const perRequest = (cpuSeconds: number) => (cpuSeconds * 1000) / result.requests.total;
  return {
    name: target.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    gatewayCpuMs: gatewayCpu === undefined ? undefined : perRequest(gatewayCpu),
    subgraphsCpuMs: perRequest(subgraphsCpu),
  };
}

/** The results side by side, as a Markdown table (docs/gateway.md quotes it). */
export function formatTable(results: readonly LoadResult[]): string {
  return markdownTable(
    [
      'target',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'failures',
      'gateway CPU ms/request',
      'subgraphs CPU ms/request',
    ],
    results.map((r) => [
      r.name,
      r.requestsPerSecond.toFixed(0),
      r.p50Ms.toFixed(1),
      r.p99Ms.toFixed(1),
      String(r.failures),
      fixed(r.gatewayCpuMs, 2),
      fixed(r.subgraphsCpuMs, 2),
    ]),
    [1, 2, 3, 4, 5, 6],
  );
}
