import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * What a process's tracing set-up loads, seen from a process of its own (Jest's module registry is
 * not Node's): without a collector, none of the SDK and no instrumentation, and the stores' clients
 * untouched; with one, pg and ioredis are hooked as they load.
 */

interface Probe {
  /** OpenTelemetry modules loaded besides the API and the W3C propagator's package (core, and the constants it reads). */
  sdkModules: string[];
  pgHooked: boolean;
  ioredisHooked: boolean;
}

const PROBE = `
  const { startTracing, tracingRecorded } = require(${JSON.stringify(join(__dirname, 'tracing.ts'))});
  startTracing('probe', { TRACING_ENABLED: true, OTEL_EXPORTER_OTLP_ENDPOINT: process.env.PROBE_ENDPOINT });
  const pg = require('pg');
  const { Redis } = require('ioredis');
  const sdkModules = Object.keys(require.cache).filter(
    (file) => /@opentelemetry[\\\\/]/.test(file) && !/@opentelemetry[\\\\/](api|core|semantic-conventions)[\\\\/]/.test(file),
  );
  process.stdout.write(JSON.stringify({
    sdkModules,
    pgHooked: pg.Client.prototype.query.__wrapped === true,
    ioredisHooked: Redis.prototype.sendCommand.__wrapped === true,
    recorded: tracingRecorded(),
  }));
`;

async function probe(endpoint?: string): Promise<Probe & { recorded: boolean }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-r', join(__dirname, '../testing/swc-register.js'), '-e', PROBE],
    { env: { ...process.env, PROBE_ENDPOINT: endpoint ?? '' }, timeout: 30_000 },
  );
  return JSON.parse(stdout) as Probe & { recorded: boolean };
}

describe('a process’s tracing', () => {
  it('loads nothing of the SDK and hooks nothing without a collector', async () => {
    expect(await probe()).toEqual({ sdkModules: [], pgHooked: false, ioredisHooked: false, recorded: false });
  });

  it('hooks pg and ioredis as they load when spans are exported', async () => {
    const withCollector = await probe('http://127.0.0.1:9');
    expect(withCollector).toMatchObject({ pgHooked: true, ioredisHooked: true, recorded: true });
    expect(withCollector.sdkModules.length).toBeGreaterThan(0);
  });
});
