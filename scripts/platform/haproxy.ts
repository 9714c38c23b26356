import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findOnPath } from './executables';
import { findFreePort } from './ports';
import { failWhenExits, runLogged, spawnLogged, stopProcess } from './processes';
import { waitUntil } from './wait';

const INSTALL_HINT =
  'Install HAProxy (Debian/Ubuntu: `apt-get install -y haproxy`; macOS: `brew install haproxy`).';

/** One service behind HAProxy: a frontend port, round-robin over its replicas. */
export interface Backend {
  name: string;
  port: number;
  servers: { name: string; port: number }[];
}

/** How long a connection may stay quiet: a WebSocket or SSE stream lives for the length of a reply. */
const STREAM_TIMEOUT = '1h';

/**
 * The configuration: for each backend, a frontend on 127.0.0.1 and round-robin over its servers for
 * HTTP and WebSocket alike (a WebSocket stays on the server it was opened on). A server is taken out
 * after two failed `GET /health` half a second apart (503 included, as Kubernetes' readiness would)
 * and back after one success; a request that could not connect is retried on another server.
 * `x-served-by` names the server that answered. The stats page lists each server's state.
 */
export function haproxyConfig(backends: Backend[], statsPort: number): string {
  const lines = [
    '# Written by scripts/platform/haproxy.ts for the replica harness; rewritten at every start.',
    'global',
    // Each connection holds two descriptors; the usual limit of open files (ulimit -n) is far above.
    '  maxconn 4096',
    // A port another process holds (two harnesses picking the same free port) fails the start
    // instead of being shared: with SO_REUSEPORT the kernel would split connections between them.
    '  noreuseport',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout http-request 10s',
    // Longer than the gateway keeps an idle connection to a subgraph (30 s), so the gateway closes first.
    '  timeout http-keep-alive 60s',
    // A busy process's /health may take a while; by default a check gets `inter` (500 ms) in all.
    '  timeout check 2s',
    `  timeout client ${STREAM_TIMEOUT}`,
    `  timeout server ${STREAM_TIMEOUT}`,
    `  timeout tunnel ${STREAM_TIMEOUT}`,
    '  retries 3',
    '  option redispatch 1',
    '  default-server inter 500ms fall 2 rise 1',
    '',
    'listen stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /',
  ];
  for (const { name, port, servers } of backends) {
    lines.push(
      '',
      `frontend ${name}`,
      `  bind 127.0.0.1:${port}`,
      `  default_backend ${name}`,
      '',
      `backend ${name}`,
      '  balance roundrobin',
      '  option forwardfor',
      '  option httpchk',
      '  http-check send meth GET uri /health',
      '  http-check expect status 200',
      '  http-response set-header x-served-by %[srv_name]',
      ...servers.map((server) => `  server ${server.name} 127.0.0.1:${server.port} check`),
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface RunningHaproxy {
  /** The stats page, e.g. http://127.0.0.1:PORT/ (`;csv` for the machine-readable form). */
  statsUrl: string;
  /** HAProxy's view of every server, by server name: `UP`, `DOWN`, `UP 1/2` (going down), … */
  serverStatus(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

function haproxyBinary(): string {
  // Debian installs it in /usr/sbin, which a normal user's PATH may lack.
  const binary = findOnPath('haproxy') ?? ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find(existsSync);
  if (!binary) throw new Error(`HAProxy: no haproxy on PATH. ${INSTALL_HINT}`);
  return binary;
}

/** Parses the stats page's CSV into server name → status, leaving out the frontend and backend rows. */
function parseServerStatus(csv: string): Record<string, string> {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const [name, status] = [columns.indexOf('svname'), columns.indexOf('status')];
  return Object.fromEntries(
    rows
      .map((row) => row.split(','))
      .filter((cells) => cells[name] !== 'FRONTEND' && cells[name] !== 'BACKEND')
      .map((cells) => [cells[name], cells[status]]),
  );
}

/**
 * Writes the configuration to `<workDir>/haproxy.cfg`, checks it with `haproxy -c`, and runs HAProxy
 * in the foreground until `stop()`. Its output, in `<workDir>/haproxy.log`, is its warnings: each
 * server that goes down (and why) or comes back; requests are not logged.
 */
export async function startHaproxy(backends: Backend[], workDir: string): Promise<RunningHaproxy> {
  const binary = haproxyBinary();
  const configPath = join(workDir, 'haproxy.cfg');
  const logPath = join(workDir, 'haproxy.log');
  const statsPort = await findFreePort();
  await writeFile(configPath, haproxyConfig(backends, statsPort));
  await runLogged('haproxy -c', binary, ['-c', '-q', '-f', configPath], {
    logPath,
    cwd: dirname(configPath),
  });
  const server = spawnLogged(binary, ['-db', '-f', configPath], { logPath, cwd: workDir });
  const statsUrl = `http://127.0.0.1:${statsPort}/`;
  const serverStatus = async () => {
    const response = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) throw new Error(`HAProxy's stats answered ${response.status}`);
    return parseServerStatus(await response.text());
  };
  // SIGUSR1 would wait for every stream to end; SIGTERM closes them at once.
  const stop = () => stopProcess(server, { signal: 'SIGTERM', timeoutMs: 5000 });
  try {
    await waitUntil('HAProxy', serverStatus, {
      timeoutMs: 10_000,
      giveUpWhen: failWhenExits(server, 'haproxy', logPath),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { statsUrl, serverStatus, stop };
}
