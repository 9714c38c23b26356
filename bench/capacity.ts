import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { operationText } from '../clients/chat-client/operation';
import { GenerationEventsDocument } from '../clients/generated/graphql';
import { DASHBOARD_QUERY, seedDashboardUser } from './support/dashboard';
import { fixed, markdownTable } from './support/markdown';
import { PacedModel } from './support/paced-model';
import { CpuWindow, rssMb } from './support/process-usage';
import { BenchServices } from './support/services';
import { connect, follow } from './support/streams';
import { redisKeys } from '../subgraphs/chat/store/redis-keys';
import { TurnAftermath } from './support/turn-aftermath';
import {
  PLATFORM_PROCESSES,
  type PlatformProcess,
  startTurnPlatform,
  type TurnPlatform,
} from './support/turn-platform';
import { connectUsers, disconnectUsers, registerUsers, turnsAtOnce } from './support/turns';

/*
 * `npm run bench:capacity`: what one replica of each service carries per core and per GB, the
 * figures docs/scaling.md sizes the Kubernetes requests and autoscalers from. The platform runs as
 * bench:turn runs it (bench/support/turn-platform.ts: each service a process of its own, production
 * settings, its own PostgreSQL, Redis and Chroma), the model a stand-in that streams TOKENS tokens
 * per reply at once (bench/support/paced-model.ts), or holds them.
 *
 * Each figure is CPU time per unit of work, read from /proc (utime + stime of each process and its
 * descendants) before and after a fixed amount of work, less what the process uses idle over the
 * same seconds: it counts the process's own work whatever else the machine runs, so 1 / (CPU
 * seconds per unit) is the units per second one core carries.
 *
 * - Requests: REQUESTS dashboard queries through the gateway (one fetch to each subgraph).
 * - Turns: TURNS chat turns as the client library takes them (sendMessage, then the reply over
 *   graphql-ws), until the stores show each turn's work done; per token and per turn.
 * - Subscriptions: SUBSCRIPTIONS clients, each on its own WebSocket, following a reply the model
 *   holds: the resident memory each process gained with them.
 */

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    turns: { type: 'string', default: '200' },
    'turn-users': { type: 'string', default: '20' },
    subscriptions: { type: 'string', default: '1000' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = { requests: '40', turns: '4', 'turn-users': '2', subscriptions: '20' };
const options = args.quick ? { ...args, ...QUICK } : args;

const TOKENS = 40;
const WARMUP_REQUESTS = 200;
const WARMUP_TURNS = 20;
const IDLE_SECONDS = 5;
/** Replies the subscribers follow: few, so that the memory measured is the subscriptions'. */
const HELD_REPLIES = 10;
/** The processes that hold a subscription: the gateway (the client's) and chat (the gateway's, upstream). */
const SUBSCRIBED = ['gateway', 'chat'] as const;

type PerProcess = Record<PlatformProcess, number>;

const byProcess = (values: number[]): PerProcess =>
  Object.fromEntries(PLATFORM_PROCESSES.map((name, i) => [name, values[i]])) as PerProcess;

/** CPU seconds each process used per second with nothing to do. */
async function idleCpu(pids: number[]): Promise<number[]> {
  const window = new CpuWindow(pids, { descendants: true });
  window.begin();
  await delay(IDLE_SECONDS * 1000);
  const used = window.end();
  return used.cpuSeconds.map((seconds) => seconds / used.seconds);
}

/** CPU seconds each process spent on `work`, less its idle use over the same time. */
async function cpuOf(pids: number[], idle: number[], work: () => Promise<void>): Promise<PerProcess> {
  const window = new CpuWindow(pids, { descendants: true });
  window.begin();
  await work();
  const used = window.end();
  return byProcess(used.cpuSeconds.map((seconds, i) => Math.max(0, seconds - idle[i] * used.seconds)));
}

/** `count` requests, `concurrency` at a time; fails on the first that is not answered in full. */
async function requests(url: string, headers: Record<string, string>, count: number, concurrency: number) {
  let next = 0;
  const body = JSON.stringify({ query: DASHBOARD_QUERY });
  const worker = async () => {
    while (next < count) {
      next += 1;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      const answer = (await response.json()) as { errors?: unknown };
      if (!response.ok || answer.errors)
        throw new Error(`the dashboard query answered ${response.status}: ${JSON.stringify(answer)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

interface Figures {
  requests: { count: number; cpuMs: PerProcess };
  turns: {
    count: number;
    tokens: number;
    failed: number;
    cpuMs: PerProcess;
    /** used_memory gained per turn, and of it what a generation's record and its event stream hold. */
    redisBytes: number;
    recordBytes: number;
    streamBytes: number;
  };
  subscriptions: { count: number; rssMb: Partial<PerProcess>; redisBytes: number };
}

async function redisUsedBytes(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** The mean size (MEMORY USAGE) of a generation's record, kept for days, and its event stream, kept an hour. */
async function generationKeyBytes(redis: Redis, prefix: string, ids: string[]) {
  const sample = ids.slice(0, 50);
  const usage = async (key: string) => Number(await redis.call('MEMORY', 'USAGE', `${prefix}${key}`));
  let [recordBytes, streamBytes] = [0, 0];
  for (const id of sample) {
    recordBytes += await usage(redisKeys.generation(id));
    streamBytes += await usage(redisKeys.events(id));
  }
  return { recordBytes: recordBytes / sample.length, streamBytes: streamBytes / sample.length };
}

async function measureRequests(platform: TurnPlatform, pids: number[], idle: number[]) {
  const count = Number(options.requests);
  const concurrency = Number(options.concurrency);
  const user = await seedDashboardUser(platform.gatewayUrl, 20);
  await requests(platform.gatewayUrl, user.headers, Math.min(WARMUP_REQUESTS, count), concurrency);
  const cpu = await cpuOf(pids, idle, () => requests(platform.gatewayUrl, user.headers, count, concurrency));
  return { count, cpuMs: scale(cpu, 1000 / count) };
}

async function measureTurns(
  platform: TurnPlatform,
  pids: number[],
  idle: number[],
  aftermath: TurnAftermath,
  redis: Redis,
) {
  const players = await connectUsers(
    platform.gatewayUrl,
    await registerUsers(platform.gatewayUrl, Number(options['turn-users'])),
  );
  try {
    const rounds = Math.max(1, Math.round(Number(options.turns) / players.length));
    await turnsAtOnce(platform.gatewayUrl, players, Math.ceil(WARMUP_TURNS / players.length), 1);
    const redisBefore = await redisUsedBytes(redis);
    let turns: Awaited<ReturnType<typeof turnsAtOnce>> = [];
    const cpu = await cpuOf(pids, idle, async () => {
      turns = await turnsAtOnce(platform.gatewayUrl, players, rounds, WARMUP_TURNS + 1);
      const pending = await aftermath.waitUntilDone(
        turns.flatMap((turn) => turn.conversationId ?? []),
        60_000,
      );
      if (pending) throw new Error(`the turns' work was not done in a minute: ${JSON.stringify(pending)}`);
    });
    const count = turns.length;
    // The model's tokens, not TOKEN events: those that come within TOKEN_EVENT_INTERVAL_MS share one.
    const tokens = turns.filter((turn) => turn.ended === 'complete').length * TOKENS;
    return {
      count,
      tokens,
      failed: turns.filter((turn) => turn.ended !== 'complete').length,
      cpuMs: scale(cpu, 1000 / count),
      redisBytes: ((await redisUsedBytes(redis)) - redisBefore) / count,
      ...(await generationKeyBytes(
        redis,
        chatKeyPrefix(platform),
        turns.flatMap((turn) => turn.generationId ?? []),
      )),
    };
  } finally {
    await disconnectUsers(players);
  }
}

async function measureSubscriptions(platform: TurnPlatform, model: PacedModel, redis: Redis) {
  const count = Number(options.subscriptions);
  const [user] = await registerUsers(platform.gatewayUrl, 1);
  const endpoint = {
    url: platform.gatewayUrl,
    connectionParams: { authorization: `Bearer ${user.accessToken}` },
  };
  const ids: string[] = [];
  for (let i = 0; i < HELD_REPLIES; i += 1) {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({
        query:
          'mutation ($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
        variables: { content: `Held reply ${i + 1}` },
      }),
    });
    const answer = (await response.json()) as { data?: { sendMessage: { generation: { id: string } } } };
    if (!answer.data) throw new Error(`sendMessage failed: ${JSON.stringify(answer)}`);
    ids.push(answer.data.sendMessage.generation.id);
  }
  await model.waitForStreams(HELD_REPLIES);
  await delay(1000);
  const services = SUBSCRIBED.map((name) => platform.pids[name]);
  const before = services.map(rssMb);
  const redisBefore = await redisUsedBytes(redis);
  const clients = await connect(endpoint, count);
  const query = operationText(GenerationEventsDocument).query;
  const following = clients.map((client, i) =>
    follow(client, query, { id: ids[i % ids.length] }, endpoint, 600_000),
  );
  await Promise.all(following.map((f) => f.started));
  await delay(1000);
  const after = services.map(rssMb);
  const redisAfter = await redisUsedBytes(redis);
  model.release({ tokens: TOKENS, intervalMs: 0 });
  const ended = await Promise.all(following.map((f) => f.ended));
  const incomplete = ended.filter((followed) => followed.ended !== 'complete').length;
  await Promise.all(clients.map((client) => client.dispose()));
  if (incomplete > 0) throw new Error(`${incomplete} of ${count} subscriptions did not complete`);
  return {
    count,
    rssMb: Object.fromEntries(SUBSCRIBED.map((name, i) => [name, after[i] - before[i]])),
    redisBytes: redisAfter - redisBefore,
  };
}

/** Chat's Redis key prefix (ioredis adds it; MEMORY USAGE needs the whole key). */
const chatKeyPrefix = (platform: TurnPlatform) => platform.env.REDIS_KEY_PREFIX ?? 'chat:';

const scale = (values: PerProcess, factor: number): PerProcess =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value * factor])) as PerProcess;

/** What one core carries: units per second for a CPU cost of `ms` per unit. */
const perCore = (ms: number) => (ms > 0 ? Math.round(1000 / ms).toLocaleString('en') : '—');

function report(figures: Figures): string {
  const { requests: req, turns, subscriptions: subs } = figures;
  const tokensPerTurn = turns.tokens / turns.count;
  const cpuRows = PLATFORM_PROCESSES.map((name) => [
    name,
    fixed(req.cpuMs[name], 2),
    perCore(req.cpuMs[name]),
    fixed(turns.cpuMs[name], 1),
    perCore(turns.cpuMs[name] / tokensPerTurn),
  ]);
  const memoryRows = SUBSCRIBED.map((name) => {
    const mbPer1000 = ((subs.rssMb[name] ?? 0) * 1000) / subs.count;
    return [
      name,
      fixed(mbPer1000, 1),
      mbPer1000 > 0 ? Math.round((1024 * 1000) / mbPer1000).toLocaleString('en') : '—',
    ];
  });
  return [
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}; load average ${loadavg()[0].toFixed(1)} at the end.`,
    '',
    `CPU per unit of work (${req.count} dashboard queries; ${turns.count} turns of ${fixed(tokensPerTurn, 0)} tokens, ` +
      `${turns.failed} failed):`,
    '',
    markdownTable(
      ['process', 'CPU ms per query', 'queries/s per core', 'CPU ms per turn', 'tokens/s per core'],
      cpuRows,
      [1, 2, 3, 4],
    ),
    '',
    `Memory of ${subs.count} open subscriptions (each on its own WebSocket, ${HELD_REPLIES} replies followed):`,
    '',
    markdownTable(['process', 'RSS MB per 1,000 subscriptions', 'subscriptions per GB'], memoryRows, [1, 2]),
    '',
    `Redis: ${fixed(turns.redisBytes / 1024, 1)} KiB more used_memory per turn, of which the generation's record ` +
      `${fixed(turns.recordBytes, 0)} bytes (kept GENERATION_RETENTION_DAYS) and its event stream ` +
      `${fixed(turns.streamBytes, 0)} bytes (kept GENERATION_STREAM_TTL_SECONDS after the end); ` +
      `${fixed(subs.redisBytes / subs.count, 0)} bytes per open subscription.`,
  ].join('\n');
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const workDir = await mkdtemp(join(tmpdir(), 'bench-capacity-'));
  const services = new BenchServices(workDir);
  const model = await PacedModel.start();
  console.log(`Starting PostgreSQL, Redis, Chroma and the services (work directory ${workDir})...`);
  const platform = await startTurnPlatform(services, {
    workDir,
    env: {
      LOG_LEVEL: 'warn',
      LLM_PROVIDER: 'openai-compatible',
      LLM_BASE_URL: model.url,
      // The subscribers' replies are held until every subscription is open.
      LLM_FIRST_TOKEN_TIMEOUT_MS: '600000',
    },
  });
  const aftermath = await TurnAftermath.open({
    databaseUrl: platform.databaseUrl,
    redisUrl: platform.redisUrl,
    conversationSchema: platform.env.CONVERSATION_DB_SCHEMA ?? 'conversation',
    chatKeyPrefix: chatKeyPrefix(platform),
  });
  const redis = new Redis(platform.redisUrl, { maxRetriesPerRequest: 1 });
  // Every reply streams at once, but for the subscriptions' held ones.
  let streaming = true;
  const releaser = setInterval(() => streaming && model.release({ tokens: TOKENS, intervalMs: 0 }), 5);
  try {
    const pids = PLATFORM_PROCESSES.map((name) => platform.pids[name]);
    const idle = await idleCpu(pids);
    console.log('Requests...');
    const req = await services.whileRunning(measureRequests(platform, pids, idle));
    console.log('Turns...');
    const turns = await services.whileRunning(measureTurns(platform, pids, idle, aftermath, redis));
    console.log('Subscriptions...');
    streaming = false;
    const subscriptions = await services.whileRunning(measureSubscriptions(platform, model, redis));
    console.log(`\n${report({ requests: req, turns, subscriptions })}\n`);
  } finally {
    clearInterval(releaser);
    redis.disconnect();
    await aftermath.close();
    await platform.stop();
    await model.close();
  }
  await rm(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
