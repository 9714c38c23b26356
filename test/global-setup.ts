import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkChroma, provideChroma } from '../scripts/platform/chroma';
import { type DataStore, redactUrl } from '../scripts/platform/data-store';
import { errorMessage } from '../scripts/platform/errors';
import { findFreePort } from '../scripts/platform/ports';
import { checkPostgres, providePostgres } from '../scripts/platform/postgres';
import { checkRedis, provideRedis } from '../scripts/platform/redis';
import { RUN_LOG_DIR_VARIABLE } from '../common/testing/run-log';

/** What global-teardown.ts stops and deletes: jest runs both in one process, so globalThis carries it. */
interface TestServers {
  started: DataStore[];
  /** Their data directories, temporary. */
  dataDir: string;
}

declare global {
  var __testServers: TestServers | undefined;
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

interface Store {
  what: string;
  variable: 'DATABASE_URL' | 'REDIS_URL' | 'CHROMA_URL';
  defaultUrl?: string;
  check: (url: string) => Promise<void>;
  /** Starts one from npm or a local binary, in a temporary directory, on a free port. */
  start: (dataDir: string, port: string) => Promise<DataStore>;
  portVariable: string;
}

const stores: Store[] = [
  {
    what: 'PostgreSQL',
    variable: 'DATABASE_URL',
    defaultUrl: DEFAULT_DATABASE_URL,
    check: checkPostgres,
    portVariable: 'EMBEDDED_POSTGRES_PORT',
    start: (dataDir, port) =>
      providePostgres({
        dataDir,
        passwordFile: join(`${dataDir}-secrets`, 'password'),
        env: { EMBEDDED_POSTGRES_PORT: port },
      }),
  },
  {
    what: 'Redis',
    variable: 'REDIS_URL',
    defaultUrl: DEFAULT_REDIS_URL,
    check: checkRedis,
    portVariable: 'EMBEDDED_REDIS_PORT',
    start: (dataDir, port) =>
      provideRedis({
        dataDir,
        passwordFile: join(`${dataDir}-secrets`, 'password'),
        env: { EMBEDDED_REDIS_PORT: port },
      }),
  },
  {
    what: 'Chroma',
    variable: 'CHROMA_URL',
    check: checkChroma,
    portVariable: 'EMBEDDED_CHROMA_PORT',
    start: (dataDir, port) => provideChroma({ dataDir, env: { EMBEDDED_CHROMA_PORT: port } }),
  },
];

/**
 * Tests run against real servers. A URL set in the environment must answer; otherwise the
 * machine's usual servers are used when they answer (PostgreSQL on 5432, Redis on 6379), and
 * what is missing is started here, on a free port with its data in a temporary directory:
 * embedded PostgreSQL and Chroma from npm, Redis from a local `redis-server`. Chroma is always
 * started here unless CHROMA_URL is set. The URLs go into process.env, which workers inherit,
 * with the run's log directory.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-tests-'));
  // mkdtemp makes it private; an embedded PostgreSQL started by root runs as `postgres` and must enter it.
  await chmod(dataDir, 0o755);
  const started: DataStore[] = [];
  globalThis.__testServers = { started, dataDir };
  // Every service the tests start logs here; test/log-scan.js reads it when the run is complete.
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir);
  process.env[RUN_LOG_DIR_VARIABLE] = logDir;
  const provide = async (store: Store) => {
    const given = process.env[store.variable];
    if (given) {
      await store.check(given).catch((error: unknown) => {
        throw new Error(
          `Tests need ${store.what} at ${store.variable}=${redactUrl(given)}, which does not answer ` +
            `(${errorMessage(error)}). Start it there, or unset ${store.variable} to let the tests start one.`,
        );
      });
      return;
    }
    if (
      store.defaultUrl &&
      (await store.check(store.defaultUrl).then(
        () => true,
        () => false,
      ))
    ) {
      process.env[store.variable] = store.defaultUrl;
      return;
    }
    const server = await store.start(join(dataDir, store.what.toLowerCase()), String(await findFreePort()));
    started.push(server);
    process.env[store.variable] = server.url;
  };
  const results = await Promise.allSettled(stores.map(provide));
  const problems = results.flatMap((result) =>
    result.status === 'rejected' ? [errorMessage(result.reason)] : [],
  );
  if (problems.length > 0) {
    await stopTestServers();
    throw new Error(problems.join('\n'));
  }
}

export async function stopTestServers(): Promise<void> {
  const servers = globalThis.__testServers;
  if (!servers) return;
  globalThis.__testServers = undefined;
  await Promise.all(servers.started.map((server) => server.stop()));
  await rm(servers.dataDir, { recursive: true, force: true });
}
