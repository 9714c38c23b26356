export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  status: 'ok' | 'down';
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: HealthStatus;
  components: Record<string, ComponentHealth>;
}

/**
 * What a service tells operators beside its checks (the chat subgraph: which models are served):
 * shown at `/health` and in the gateway's `/health/all`, never a reason to be down.
 */
export type HealthDetails = Record<string, unknown>;

export interface HealthCheck {
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  check: () => Promise<unknown>;
  /** A critical dependency down makes the service `down`; any other makes it `degraded`. */
  critical: boolean;
}

export async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(
  checks: Record<string, HealthCheck>,
  timeoutMs = 2000,
): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, { check }]) => [name, await probe(check, timeoutMs)] as const),
  );
  const components = Object.fromEntries(entries);
  const failing = entries.filter(([, health]) => health.status === 'down').map(([name]) => name);
  const status: HealthStatus = failing.some((name) => checks[name].critical)
    ? 'down'
    : failing.length > 0
      ? 'degraded'
      : 'ok';
  return { status, components };
}
