import autocannon from 'autocannon';

/** One thing to load: a GraphQL POST, its headers made fresh for every request when needed. */
export interface LoadTarget {
  name: string;
  url: string;
  body: string;
  headers?: () => Record<string, string>;
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

/** Warms the target up (JIT, plan and connection caches), then measures it with the same load as the others. */
export async function measure(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  await run(target, options.connections, options.warmupSeconds);
  const result = await run(target, options.connections, options.durationSeconds);
  return {
    name: target.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

/** The results side by side, as a Markdown table (docs/gateway.md quotes it). */
export function formatTable(results: readonly LoadResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    String(r.failures),
  ]);
  const header = ['target', 'requests/s', 'p50 ms', 'p99 ms', 'failures'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
