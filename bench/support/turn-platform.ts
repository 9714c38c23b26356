import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { provideChroma } from '../../scripts/platform/chroma';
import type { DataStore } from '../../scripts/platform/data-store';
import { errorMessage } from '../../scripts/platform/errors';
import { findFreePort } from '../../scripts/platform/ports';
import { providePostgres } from '../../scripts/platform/postgres';
import { provideRedis } from '../../scripts/platform/redis';
import type { BenchServices } from './services';

/** The processes of the platform whose CPU a turn costs, in the order the reports list them. */
export const PLATFORM_PROCESSES = [
  'gateway',
  'auth',
  'conversation',
  'chat',
  'PostgreSQL',
  'Redis',
  'Chroma',
] as const;
export type PlatformProcess = (typeof PLATFORM_PROCESSES)[number];

const SERVICES = [
  { name: 'auth', entry: 'subgraphs/auth/main', portVariable: 'AUTH_PORT', urlVariable: 'AUTH_URL' },
  {
    name: 'conversation',
    entry: 'subgraphs/conversation/main',
    portVariable: 'CONVERSATION_PORT',
    urlVariable: 'CONVERSATION_URL',
  },
  { name: 'chat', entry: 'subgraphs/chat/main', portVariable: 'CHAT_PORT', urlVariable: 'CHAT_URL' },
  { name: 'gateway', entry: 'gateway/main', portVariable: 'GATEWAY_PORT', urlVariable: undefined },
] as const;
type ServiceName = (typeof SERVICES)[number]['name'];

export interface TurnPlatformOptions {
  /** Where the data stores keep their data and every process its log; the caller deletes it. */
  workDir: string;
  /** Settings for every service, over the benchmark's defaults (turnPlatformEnv). */
  env: Record<string, string>;
  /** Node options for a service's process (CPU profiling, the turn-trace recorder). */
  execArgv?: (service: ServiceName) => string[];
}

export interface TurnPlatform {
  gatewayUrl: string;
  /** Every process a turn costs CPU in, by name; PostgreSQL's is the postmaster (its backends are its children). */
  pids: Record<PlatformProcess, number>;
  databaseUrl: string;
  redisUrl: string;
  chromaUrl: string;
  /** The settings the services run with. */
  env: Record<string, string>;
  /** Stops the services (gateway first), then the data stores. */
  stop: () => Promise<void>;
}

/**
 * The settings of a turn benchmark's platform: a production deployment's defaults, but with the
 * offline model answering without pacing (so that every millisecond measured is the platform's),
 * and with the limits that would refuse a benchmark's traffic raised (rate limits and quotas stay
 * on: their Redis round trips are part of a turn's cost). Password hashing is cheap because
 * registering the users is not measured.
 */
export function turnPlatformEnv(overrides: Record<string, string>): Record<string, string> {
  const budget = '100000000/60';
  return {
    NODE_ENV: 'production',
    // Production refuses to start without it; nothing here reads /metrics or /health/all.
    OPERATOR_TOKEN: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    LLM_PROVIDER: 'offline',
    GEMINI_API_KEY: '',
    OFFLINE_TOKEN_INTERVAL_MS: '0',
    RATE_LIMIT_OPERATIONS: budget,
    RATE_LIMIT_CHAT_SENDS: budget,
    RATE_LIMIT_AUTH_ATTEMPTS: budget,
    RATE_LIMIT_SUBSCRIPTIONS: budget,
    CONVERSATION_CREATION_BUDGET: budget,
    // Every simulated user connects from this one address.
    WS_CONNECTIONS_PER_ADDRESS: '100000',
    QUOTA_CONCURRENT_GENERATIONS: '100000',
    QUOTA_DAILY_TOKENS: '1000000000',
    SUBSCRIPTIONS_PER_USER: '100000',
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_ITERATIONS: '1',
    // A full run outlasts the default 15 minutes, and each user connects once.
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    ...overrides,
  };
}

async function startDataStores(workDir: string): Promise<DataStore[]> {
  // Each on a free port with its data in the work directory: never the machine's shared servers,
  // whose CPU other work would share. An embedded PostgreSQL started by root runs as `postgres`,
  // which must be able to enter the (private, as mkdtemp makes it) work directory.
  await chmod(workDir, 0o755);
  const starts = [
    providePostgres({
      dataDir: join(workDir, 'postgres'),
      env: { EMBEDDED_POSTGRES_PORT: String(await findFreePort()) },
      passwordFile: join(workDir, 'secrets', 'postgres-password'),
    }),
    provideRedis({
      dataDir: join(workDir, 'redis'),
      env: { EMBEDDED_REDIS_PORT: String(await findFreePort()) },
      passwordFile: join(workDir, 'secrets', 'redis-password'),
    }),
    provideChroma({
      dataDir: join(workDir, 'chroma'),
      env: { EMBEDDED_CHROMA_PORT: String(await findFreePort()) },
    }),
  ];
  const results = await Promise.allSettled(starts);
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [errorMessage(result.reason)] : [],
  );
  if (failures.length > 0) {
    await Promise.all(started.map((store) => store.stop()));
    throw new Error(failures.join('\n'));
  }
  return started;
}

/**
 * The platform as `npm start` runs it, each part a process of its own: PostgreSQL (embedded), Redis
 * and Chroma (from npm) started here, then the three subgraphs and the gateway from their entry
 * points with scripts/start.ts's settings, each on a free port.
 */
export async function startTurnPlatform(
  services: BenchServices,
  options: TurnPlatformOptions,
): Promise<TurnPlatform> {
  const stores = await startDataStores(options.workDir);
  const [postgres, redis, chroma] = stores;
  // Should this process die without stopping them (Ctrl-C), the stores go with it, their whole
  // process groups (PostgreSQL's backends too): their data is thrown away anyway.
  const killStores = () => {
    for (const { pid } of stores) {
      try {
        process.kill(-(pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', killStores);
  const stopStores = async () => {
    await Promise.all(stores.map((store) => store.stop()));
    process.removeListener('exit', killStores);
  };
  try {
    const ports = Object.fromEntries(
      await Promise.all(SERVICES.map(async ({ name }) => [name, await findFreePort()] as const)),
    ) as Record<ServiceName, number>;
    const url = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
    const env = turnPlatformEnv({
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      CHROMA_URL: chroma.url,
      IDENTITY_SECRET: randomBytes(32).toString('hex'),
      ...Object.fromEntries(SERVICES.map(({ name, portVariable }) => [portVariable, String(ports[name])])),
      ...Object.fromEntries(
        SERVICES.flatMap(({ name, urlVariable }) =>
          urlVariable ? [[urlVariable, `${url(name)}/graphql`]] : [],
        ),
      ),
      ...options.env,
    });
    const start = ({ name, entry }: (typeof SERVICES)[number]) =>
      services.startNode({
        name,
        entry,
        env,
        execArgv: options.execArgv?.(name),
        healthUrl: `${url(name)}/health`,
      });
    // All four at once: the gateway serves the committed supergraph and fetches auth's keys on
    // its first request, so it needs nothing from the subgraphs to start (npm start waits for
    // them first only to report a broken subgraph before the gateway).
    const [auth, conversation, chat, gateway] = await Promise.all(SERVICES.map(start));
    return {
      gatewayUrl: `${url('gateway')}/graphql`,
      pids: {
        gateway: gateway.pid,
        auth: auth.pid,
        conversation: conversation.pid,
        chat: chat.pid,
        PostgreSQL: postgres.pid as number,
        Redis: redis.pid as number,
        Chroma: chroma.pid as number,
      },
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      chromaUrl: chroma.url,
      env,
      stop: async () => {
        await services.stop();
        await stopStores();
      },
    };
  } catch (error) {
    await services.stop();
    await stopStores();
    throw error;
  }
}
