/**
 * `npm start`: the data stores (those the environment does not point at), then the three subgraphs,
 * then the gateway, each waited for until it is healthy. SIGINT/SIGTERM/SIGHUP stop the services
 * (gateway first), then the data stores started here; their data stays in .data/ for the next start.
 *
 * `npm start -- --replicas N`: N processes of each service on ports of their own, behind HAProxy on
 * the usual ports (scripts/platform/replicas.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { provideChroma } from './platform/chroma';
import { type DataStore, redactUrl } from './platform/data-store';
import { portFromEnv } from '../common/config/load-config';
import { errorMessage } from './platform/errors';
import { providePostgres } from './platform/postgres';
import { assertPortFree } from './platform/ports';
import { failWhenExits } from './platform/processes';
import { provideRedis } from './platform/redis';
import { type ReplicaSet, startReplicaSet } from './platform/replicas';
import { entryPoint, PLATFORM_SERVICES, type PlatformService } from './platform/services';
import { keptSecret } from './platform/secrets';
import { Supervisor } from './platform/supervisor';
import { waitForHttp } from './platform/wait';

const SERVICE_START_TIMEOUT_MS = 60_000;

/** The directory with package.json: two levels up from dist/scripts, one from scripts. */
function findProjectRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json in or above ${from}`);
}

const root = findProjectRoot(__dirname);
const dataRoot = join(root, '.data');
/** What npm start generates (passwords, keys): owner-only, kept for the next starts. */
const secretsDir = join(dataRoot, 'secrets');

const DATA_STORES = [
  { label: 'PostgreSQL', urlVariable: 'DATABASE_URL', directory: 'postgres', provide: providePostgres },
  { label: 'Redis', urlVariable: 'REDIS_URL', directory: 'redis', provide: provideRedis },
  { label: 'Chroma', urlVariable: 'CHROMA_URL', directory: 'chroma', provide: provideChroma },
] as const;

type DataStoreUrls = Record<(typeof DATA_STORES)[number]['urlVariable'], string>;

// Everything started so far, so that a signal or a failure at any point stops exactly that.
const dataStores: Promise<DataStore>[] = [];
const supervisor = new Supervisor();
let replicaSet: Promise<ReplicaSet> | undefined;
let stopping: Promise<void> | undefined;
let stopRequested = false;

function stopPlatform(): Promise<void> {
  stopping ??= (async () => {
    await supervisor.stopAll();
    // A replica set that was starting stops HAProxy itself when its services go; one that started, here.
    await replicaSet?.then(
      (set) => set.stop(),
      () => undefined,
    );
    const started = await Promise.allSettled(dataStores);
    await Promise.all(
      started.map(async (result, index) => {
        if (result.status === 'rejected') return;
        await result.value.stop().catch((error: unknown) => {
          console.error(`Stopping ${DATA_STORES[index].label} failed: ${errorMessage(error)}`);
        });
      }),
    );
  })();
  return stopping;
}

function stopOnSignals(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      console.log('Still stopping: each process gets a few seconds to exit before it is killed.');
      return;
    }
    stopRequested = true;
    console.log(`\n${signal}: stopping the services (gateway first), then the data stores...`);
    stopPlatform().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`Stopping failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

function loadDotEnv(): void {
  const file = join(root, '.env');
  if (!existsSync(file)) return;
  // Variables already in the environment win over the file's.
  process.loadEnvFile(file);
  console.log(`Loaded ${relative(process.cwd(), file) || file}`);
}

async function startDataStores(env: NodeJS.ProcessEnv): Promise<DataStoreUrls> {
  console.log('Starting the data stores...');
  const starts = DATA_STORES.map(({ directory, provide }) =>
    provide({
      dataDir: join(dataRoot, directory),
      passwordFile: join(secretsDir, `${directory}-password`),
      env,
    }),
  );
  dataStores.push(...starts);
  const results = await Promise.allSettled(starts);
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [errorMessage(result.reason)] : [],
  );
  if (failures.length > 0) throw new Error(failures.join('\n'));
  const urls = {} as DataStoreUrls;
  DATA_STORES.forEach(({ label, urlVariable, directory }, index) => {
    const { url } = (results[index] as PromiseFulfilledResult<DataStore>).value;
    urls[urlVariable] = url;
    const dataDir = relative(root, join(dataRoot, directory));
    const origin = env[urlVariable]
      ? `from ${urlVariable}`
      : `started here; data ${dataDir}, log ${dataDir}.log`;
    console.log(`  ${label.padEnd(10)} ${redactUrl(url)} (${origin})`);
  });
  return urls;
}

interface Service {
  name: string;
  script: string;
  port: number;
  portVariable: string;
  /** Variables for this service alone (a secret the others need not hold). */
  env?: NodeJS.ProcessEnv;
}

function service(platformService: PlatformService): Service {
  const { name, portVariable, defaultPort } = platformService;
  return {
    name,
    script: entryPoint(root, platformService, 'dist').script,
    port: portFromEnv(process.env, portVariable, defaultPort),
    portVariable,
  };
}

/** `--replicas N`, or undefined for one process of each service without HAProxy. */
function replicasOption(): number | undefined {
  const { values } = parseArgs({ options: { replicas: { type: 'string' } } });
  if (values.replicas === undefined) return undefined;
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) {
    throw new Error(`--replicas must be a whole number from 1 to 16, got "${values.replicas}"`);
  }
  return replicas;
}

/** Starts the services together and waits until each answers GET /health, or one exits. */
async function startServices(services: Service[], env: NodeJS.ProcessEnv): Promise<void> {
  // A service left over from an earlier run would answer the health check in the new one's place.
  await Promise.all(
    services.map(({ name, port, portVariable }) =>
      assertPortFree(port, name, `Stop what listens there, or set ${portVariable} to another port.`),
    ),
  );
  await Promise.all(
    services.map(({ name, script, port, env: own }) => {
      const child = supervisor.start({ name, script, env: { ...env, ...own } });
      const health = `http://127.0.0.1:${port}/health`;
      const exit = failWhenExits(child, name).catch((error: Error) => {
        throw new Error(`${error.message} before answering ${health} (its output is above)`);
      });
      return waitForHttp(name, health, { timeoutMs: SERVICE_START_TIMEOUT_MS, giveUpWhen: exit });
    }),
  );
}

/** N processes of each service behind HAProxy, which listens on the ports the services would have. */
async function startReplicas(replicas: number, services: Service[], env: NodeJS.ProcessEnv): Promise<void> {
  await Promise.all(
    services.map(({ name, port, portVariable }) =>
      assertPortFree(port, `HAProxy's ${name} frontend`, `Stop what listens there, or set ${portVariable}.`),
    ),
  );
  console.log(`Starting ${replicas} of each service behind HAProxy...`);
  replicaSet = startReplicaSet({
    replicas,
    env,
    serviceEnv: Object.fromEntries(services.map((s) => [s.name, s.env ?? {}])),
    frontendPorts: Object.fromEntries(services.map((s) => [s.name, s.port])),
    workDir: dataRoot,
    supervisor,
  });
  const set = await replicaSet;
  for (const replica of set.replicas) console.log(`  ${replica.name.padEnd(15)} ${replica.origin}`);
  console.log(`  HAProxy stats   ${set.statsUrl} (log .data/haproxy.log)`);
}

async function main(): Promise<void> {
  stopOnSignals();
  const replicas = replicasOption();
  loadDotEnv();
  const env = process.env;
  const [auth, conversation, chat, gateway] = PLATFORM_SERVICES.map(service);
  const dataStoreUrls = await startDataStores(env);
  // Signing keys are sealed by default: a copy of the database cannot sign tokens (docs/auth.md).
  auth.env = {
    SIGNING_KEY_ENCRYPTION_KEY:
      env.SIGNING_KEY_ENCRYPTION_KEY ?? (await keptSecret(join(secretsDir, 'signing-key-encryption-key'))),
    // Without a mail server, reset and verification mails land here (never in the log).
    ...(env.SMTP_URL ? {} : { MAIL_DROP_DIR: env.MAIL_DROP_DIR ?? join(dataRoot, 'mail') }),
  };
  const serviceEnv: NodeJS.ProcessEnv = {
    ...env,
    ...dataStoreUrls,
    IDENTITY_SECRET:
      env.IDENTITY_SECRET ??
      (await keptSecret(join(secretsDir, 'identity-secret'), {
        formerFile: join(dataRoot, 'identity-secret'),
      })),
    ...Object.fromEntries([auth, conversation, chat, gateway].map((s) => [s.portVariable, String(s.port)])),
    // Where the gateway (and chat, for conversation) reach the subgraphs, following their ports.
    AUTH_URL: env.AUTH_URL ?? `http://127.0.0.1:${auth.port}/graphql`,
    CONVERSATION_URL: env.CONVERSATION_URL ?? `http://127.0.0.1:${conversation.port}/graphql`,
    CHAT_URL: env.CHAT_URL ?? `http://127.0.0.1:${chat.port}/graphql`,
  };
  if (replicas) {
    await startReplicas(replicas, [auth, conversation, chat, gateway], serviceEnv);
  } else {
    console.log('Starting the subgraphs...');
    await startServices([auth, conversation, chat], serviceEnv);
    console.log('Starting the gateway...');
    await startServices([gateway], serviceEnv);
  }
  const gatewayUrl = `http://localhost:${gateway.port}`;
  console.log(
    `\nThe platform is up.\n  GraphQL  ${gatewayUrl}/graphql\n  Health   ${gatewayUrl}/health/all\nCtrl-C stops it.`,
  );
}

main().catch(async (error: unknown) => {
  // A signal during start makes the services exit and the waits fail; that is not a failure to report.
  if (stopRequested) return;
  console.error(`\nnpm start failed:\n${errorMessage(error)}`);
  await stopPlatform().catch((stopError: unknown) =>
    console.error(`Stopping failed: ${errorMessage(stopError)}`),
  );
  process.exit(1);
});
