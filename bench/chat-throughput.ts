import 'reflect-metadata';
import { type Client, createClient } from 'graphql-ws';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import {
  CONNECTION_DIGEST,
  IDENTITY_HEADER,
  operationDigest,
  serviceIdentity,
  signIdentity,
} from '../common/identity/identity';
import { createLogger } from '../common/logging/logger';
import { deleteRedisKeys } from '../common/testing/cleanup';
import { startChatSubgraph } from '../subgraphs/chat/app';
import { loadChatConfig } from '../subgraphs/chat/config';
import { MemoryConversationStore } from '../subgraphs/chat/testing/memory-conversation-store';
import type { ChatProvider, ProviderChunk } from '../subgraphs/chat/providers/provider';
import { sleep } from '../subgraphs/chat/support/sleep';
import { productionTimes } from './support/paced-model';

/*
 * `npm run bench:chat`: how many concurrent generations one chat process sustains, and the
 * latency the pipeline adds to each token between the provider and a graphql-ws subscriber.
 *
 * The chat subgraph runs in a child process of its own with a provider simulator that emits
 * tokens at a fixed pace; each token carries the time it was due from the provider. This
 * process opens the subscriptions (`Subscription.chat`, many per WebSocket, as the gateway
 * multiplexes them) and measures, per token, arrival minus due time. A level is sustained when
 * every token of every generation arrives, in order, and the p99 added latency stays under the
 * token interval (the subscriber keeps pace with the model). Messages are kept in memory in the
 * child: this measures the chat process and Redis, not the conversation subgraph's PostgreSQL.
 */

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    levels: { type: 'string', default: '50,100,200,300,400,500,750,1000' },
    tokens: { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '50' },
    'per-socket': { type: 'string', default: '100' },
  },
});

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** /proc reports CPU time in clock ticks; CLK_TCK is 100 on Linux. */
const MS_PER_CLOCK_TICK = 10;

/** Emits `tokens` tokens, one every `intervalMs`; each token's text is the time it was due. */
class PacedSimulator implements ChatProvider {
  readonly name = 'offline';

  constructor(
    private readonly tokens: number,
    private readonly intervalMs: number,
  ) {}

  async *stream(_request: unknown, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    const start = performance.now();
    for (let i = 1; i <= this.tokens; i++) {
      // Due on a fixed schedule, whatever the pipeline did with the last token: any lateness
      // of the pipeline shows up as latency, as it would with a real provider's stream.
      const due = start + i * this.intervalMs;
      await sleep(Math.max(0, due - performance.now()), signal);
      yield { kind: 'text', text: `${(performance.timeOrigin + due).toFixed(3)} ` };
    }
    yield { kind: 'usage', promptTokens: 10, completionTokens: this.tokens };
  }

  async complete(): Promise<string> {
    return 'Benchmark';
  }
}

/** Child mode: the chat subgraph with the simulator, printing its URL once it listens. */
async function serve(): Promise<void> {
  const config = loadChatConfig();
  const running = await startChatSubgraph(
    config,
    createLogger({ service: 'chat-bench', level: 'warn', pretty: false }),
    {
      provider: new PacedSimulator(Number(process.env.BENCH_TOKENS), Number(process.env.BENCH_INTERVAL_MS)),
      conversations: new MemoryConversationStore(),
    },
  );
  process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
  process.once('SIGTERM', () => void running.stop().then(() => process.exit(0)));
}

interface GenerationResult {
  tokens: number;
  outOfOrder: number;
  latencies: number[];
  failed: boolean;
}

interface LevelResult {
  concurrent: number;
  expectedTokens: number;
  deliveredTokens: number;
  outOfOrder: number;
  failedGenerations: number;
  p50: number;
  p99: number;
  max: number;
  cpuPercent: number;
  rssMb: number;
  /** This process's CPU: the subscribers share the machine with the chat process and Redis. */
  clientCpuPercent: number;
  /** The machine's 1-minute load average at the end: anything else running skews the figures. */
  load: number;
  seconds: number;
}

const SUBSCRIPTION = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { seq type delta } }`;

function runGeneration(
  client: Client,
  secret: string,
  startDelayMs: number,
  deadlineMs: number,
): Promise<GenerationResult> {
  return new Promise((resolve) => {
    const result: GenerationResult = { tokens: 0, outOfOrder: 0, latencies: [], failed: false };
    let lastSeq = 0;
    let unsubscribe: () => void = () => undefined;
    const finish = (failed: boolean) => {
      clearTimeout(deadline);
      result.failed ||= failed;
      unsubscribe();
      resolve(result);
    };
    const deadline = setTimeout(() => finish(true), deadlineMs);
    setTimeout(() => {
      const operation = { query: SUBSCRIPTION, variables: { input: { content: 'Benchmark' } } };
      const identity = signIdentity(
        { userId: randomUUID(), role: 'USER', sessionId: null, requestId: randomUUID(), issuer: 'gateway' },
        secret,
        { audience: 'chat', digest: operationDigest(operation) },
      );
      unsubscribe = client.subscribe<{ chat: { seq: number; type: string; delta: string | null } }>(
        { ...operation, extensions: { [IDENTITY_HEADER]: identity } },
        {
          next: ({ data, errors }) => {
            const arrived = performance.timeOrigin + performance.now();
            if (errors || !data) return finish(true);
            const event = data.chat;
            if (event.seq !== lastSeq + 1) result.outOfOrder++;
            lastSeq = event.seq;
            // One event may carry several tokens (those that waited for the same append): each counts.
            if (event.type === 'TOKEN' && event.delta) {
              for (const produced of productionTimes(event.delta)) {
                result.tokens++;
                result.latencies.push(arrived - produced);
              }
            }
            if (event.type === 'ERROR' || event.type === 'STOPPED') finish(true);
          },
          error: () => finish(true),
          complete: () => finish(false),
        },
      );
    }, startDelayMs);
  });
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * MS_PER_CLOCK_TICK) / 1000;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : 0;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function runLevel(url: string, secret: string, pid: number, concurrent: number): Promise<LevelResult> {
  const tokens = Number(args.tokens);
  const intervalMs = Number(args['interval-ms']);
  const perSocket = Number(args['per-socket']);
  const sockets = Array.from({ length: Math.ceil(concurrent / perSocket) }, () =>
    createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      // The gateway's service identity, which the subgraph asks for before anything else.
      connectionParams: () => ({
        [IDENTITY_HEADER]: signIdentity(serviceIdentity('gateway'), secret, {
          audience: 'chat',
          digest: CONNECTION_DIGEST,
        }),
      }),
    }),
  );
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250);
  const cpuBefore = cpuSeconds(pid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  // Starts spread over one token interval, as independent users' requests would be.
  const results = await Promise.all(
    Array.from({ length: concurrent }, (_, i) =>
      runGeneration(
        sockets[i % sockets.length],
        secret,
        (i * intervalMs) / concurrent,
        tokens * intervalMs * 20 + 30_000,
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  clearInterval(sampler);
  await Promise.all(sockets.map((socket) => socket.dispose()));
  const latencies = results.flatMap((result) => result.latencies).sort((a, b) => a - b);
  return {
    concurrent,
    expectedTokens: concurrent * tokens,
    deliveredTokens: results.reduce((sum, result) => sum + result.tokens, 0),
    outOfOrder: results.reduce((sum, result) => sum + result.outOfOrder, 0),
    failedGenerations: results.filter((result) => result.failed).length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    cpuPercent: (cpu / seconds) * 100,
    rssMb: peakRss,
    clientCpuPercent: ((clientCpu.user + clientCpu.system) / 1e6 / seconds) * 100,
    load: loadavg()[0],
    seconds,
  };
}

const isSustained = (result: LevelResult, intervalMs: number) =>
  result.deliveredTokens === result.expectedTokens &&
  result.outOfOrder === 0 &&
  result.failedGenerations === 0 &&
  result.p99 < intervalMs;

async function main(): Promise<void> {
  if (args.serve) return serve();
  const intervalMs = Number(args['interval-ms']);
  const levels = (args.levels as string).split(',').map(Number);
  const prefix = `bench-chat-${randomBytes(4).toString('hex')}:`;
  const secret = randomBytes(32).toString('hex');
  const child = spawn(process.execPath, [__filename, '--serve'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      IDENTITY_SECRET: secret,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CHAT_PORT: '0',
      LLM_PROVIDER: 'offline',
      RECALL_ENABLED: 'false',
      QUOTA_CONCURRENT_GENERATIONS: '1000000',
      QUOTA_DAILY_TOKENS: '1000000000',
      BENCH_TOKENS: args.tokens,
      BENCH_INTERVAL_MS: args['interval-ms'],
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const { url } = JSON.parse(line) as { url: string };
    console.log(
      `chat-throughput: ${args.tokens} tokens per reply, one every ${intervalMs} ms, ${args['per-socket']} subscriptions per WebSocket; Node ${process.version}`,
    );
    console.log(
      '| concurrent | tokens delivered / expected | out of order | failed | p50 ms | p99 ms | max ms | chat CPU | chat RSS | client CPU | load | sustained |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|');
    let best = 0;
    for (const concurrent of levels) {
      const r = await runLevel(url, secret, child.pid as number, concurrent);
      const sustained = isSustained(r, intervalMs);
      if (sustained) best = Math.max(best, concurrent);
      console.log(
        `| ${r.concurrent} | ${r.deliveredTokens} / ${r.expectedTokens} | ${r.outOfOrder} | ${r.failedGenerations} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.cpuPercent.toFixed(0)}% | ${r.rssMb.toFixed(0)} MB | ${r.clientCpuPercent.toFixed(0)}% | ${r.load.toFixed(1)} | ${sustained ? 'yes' : 'no'} |`,
      );
    }
    console.log(
      `\nHighest level sustained (no token lost, p99 under ${intervalMs} ms): ${best || 'none'} concurrent generations`,
    );
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await deleteRedisKeys(REDIS_URL, prefix);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
