import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type DataStore, externalDataStore, redactUrl } from './data-store';
import { portFromEnv } from '../../common/config/load-config';
import { errorMessage } from './errors';
import { assertPortFree } from './ports';
import { failWhenExits, spawnLogged, stopProcess } from './processes';
import { checkHttp, waitForHttp } from './wait';

const DEFAULT_PORT = 8000;

/**
 * Runs `require(binding).cli(["chroma", ...args])` in a child node process. `cli` blocks the thread
 * that calls it, so it gets a worker thread and the main thread stays free to watch stdin: a pipe
 * from the parent that ends when the parent dies, however it dies (even SIGKILL), and the server
 * then ends too instead of living on as an orphan. SIGTERM, not process.exit(), because exit waits
 * for the worker, which never returns from the native call; Chroma exits at once on SIGTERM.
 */
const RUNNER = `
const { Worker } = require('node:worker_threads');
const [binding, ...args] = process.argv.slice(1);
const server = new Worker(
  'const { workerData } = require("node:worker_threads"); require(workerData.binding).cli(["chroma", ...workerData.args]);',
  { eval: true, workerData: { binding, args } },
);
server.on('exit', (code) => process.exit(code));
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
`;

/** Resolves if the Chroma server at `url` answers its heartbeat. */
export function checkChroma(url: string): Promise<void> {
  return checkHttp(`${url}/api/v2/heartbeat`);
}

export interface ProvideChromaOptions {
  /** Where a Chroma started here keeps its data; its log goes to `<dataDir>.log`. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Chroma at CHROMA_URL if that is set (checked to answer), else a Chroma server from npm
 * (`chroma-native`, linux-x64 with glibc only) started here on EMBEDDED_CHROMA_PORT (default 8000).
 */
export async function provideChroma({
  dataDir,
  env = process.env,
}: ProvideChromaOptions): Promise<DataStore> {
  if (env.CHROMA_URL) {
    const url = env.CHROMA_URL.replace(/\/+$/, '');
    await checkChroma(url).catch((error: unknown) => {
      throw new Error(`Chroma at CHROMA_URL (${redactUrl(url)}) does not answer: ${errorMessage(error)}`);
    });
    return externalDataStore(url);
  }
  return startChroma(resolve(dataDir), portFromEnv(env, 'EMBEDDED_CHROMA_PORT', DEFAULT_PORT));
}

function chromaBinding(): string {
  try {
    return require.resolve('chroma-native');
  } catch {
    throw new Error(
      `Chroma: the Chroma server from npm (optional dependency chroma-native) exists only for linux-x64 with glibc, ` +
        `and is not installed here (${process.platform}-${process.arch}). Set CHROMA_URL to a running Chroma server, ` +
        `e.g. one started with \`docker run -p 8000:8000 chromadb/chroma\` (CHROMA_URL=http://127.0.0.1:8000).`,
    );
  }
}

async function startChroma(dataDir: string, port: number): Promise<DataStore> {
  const binding = chromaBinding();
  await assertPortFree(
    port,
    'Chroma',
    'Set EMBEDDED_CHROMA_PORT to another port, or CHROMA_URL to use a running Chroma.',
  );
  await mkdir(dataDir, { recursive: true });
  const logPath = `${dataDir}.log`;
  const server = spawnLogged(
    process.execPath,
    ['-e', RUNNER, binding, 'run', '--path', dataDir, '--host', '127.0.0.1', '--port', String(port)],
    { logPath, cwd: dirname(dataDir), stdin: 'pipe' },
  );
  const url = `http://127.0.0.1:${port}`;
  // Chroma ignores SIGINT (it keeps running, spinning a CPU); SIGTERM ends it at once.
  const stop = () => stopProcess(server, { signal: 'SIGTERM', timeoutMs: 5000 });
  try {
    await waitForHttp('Chroma', `${url}/api/v2/heartbeat`, {
      timeoutMs: 30_000,
      giveUpWhen: failWhenExits(server, 'Chroma server', logPath),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: server.pid, stop };
}
