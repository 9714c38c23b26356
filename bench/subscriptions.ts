import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CONNECTION_DIGEST,
  IDENTITY_HEADER,
  type Identity,
  operationDigest,
  serviceIdentity,
  signIdentity,
} from '../common/identity/identity';
import { registerUser } from '../common/testing/auth';
import { toMonotonicMs } from './support/clock';
import { PacedModel } from './support/paced-model';
import {
  cpuProfileArgs,
  formatProfileSummary,
  summariseProfileDirectory,
  type TimeRange,
} from './support/profile-summary';
import { CpuWindow, watchMemory } from './support/process-usage';
import { type BenchServer, BenchServices } from './support/services';
import { formatStreamRow, STREAM_TABLE_HEADER } from './support/stream-report';
import { runStreams, type StreamEndpoint, summarize } from './support/streams';
import type { RunningSubgraphs } from './support/subgraphs-process';
import { startTurnPlatform, type TurnPlatform } from './support/turn-platform';

/*
 * `npm run bench:subscriptions`: N concurrent reply streams at a fixed token pace, followed
 * through this gateway, through Hive Gateway 2.15.1 (same committed supergraph) and directly on
 * the chat subgraph over graphql-ws (the baseline). For each: tokens delivered and lost, each
 * token's latency, what the path adds to it (p50/p99), the gateway's CPU and memory, and the
 * delivered throughput, and the CPU per token of the chat subgraph and of the two others. Each
 * server runs in a process of its own, on data stores of this run's own (bench/support/turn-platform.ts);
 * the model stand-in and the subscribers run here.
 *
 * The chat subgraph streams from a paced model stand-in (support/paced-model.ts) that holds the
 * N replies until every subscription is live, then sends them at once, each token's text being the
 * time it was sent: latency is arrival minus that. What a gateway adds is measured per token too:
 * every `--reference-every`-th stream is also followed directly on the chat subgraph in the same
 * run, and each token's arrival through the gateway is compared with its arrival there (both
 * copies leave the chat process's one Redis read together). Figures and method: docs/subscriptions.md.
 *
 * `--profile DIR` runs the three subgraphs and this gateway under `node --cpu-prof` (DIR/chat,
 * DIR/conversation, DIR/auth, DIR/gateway) and prints where their time went while the measured
 * tokens flowed (DIR/summary.md; the windows, on the profiles' clock in ms, in DIR/windows.json).
 */

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '100,1000' },
    tokens: { type: 'string', default: '60' },
    // One per level: 1,000 streams at 2 tokens/s carry the same 2,000 tokens/s as 100 at 20, so that
    // the second level measures many subscriptions rather than the chat subgraph's token ceiling.
    'interval-ms': { type: 'string', default: '50,500' },
    'per-socket': { type: 'string', default: '10' },
    'reference-every': { type: 'string', default: '5' },
    'cross-streams': { type: 'string', default: '100' },
    'start-concurrency': { type: 'string', default: '16' },
    'warmup-rounds': { type: 'string', default: '5' },
    profile: { type: 'string' },
  },
});

const CONTENT = 'How does a federated gateway stream the tokens of a reply to many clients at once?';

const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`;
/** Chat's own fields: the subscription's primary fetch alone. */
const TOKENS = `subscription Tokens($id: ID!) { generation(id: $id) { seq type delta } }`;
/** Each event also needs an entity fetch from the conversation subgraph. */
const WITH_TITLE = `subscription TokensWithTitle($id: ID!) {
  generation(id: $id) { seq type delta message { conversation { title } } }
}`;
/**
 * The most streams a warm-up round follows (the first level's, up to this). Twenty streams once, as
 * before 2026-12-07, left the gateway's JIT compiling through the measured window (docs/performance.md,
 * "Eighteenth round"); five rounds of a hundred reach the figures twenty rounds give.
 */
const MAX_WARM_UP_STREAMS = 100;

interface Target {
  name: string;
  endpoint: StreamEndpoint;
  /** The gateway's process; none when subscribing to the subgraph directly. */
  server?: BenchServer;
}

async function main(): Promise<void> {
  const tokens = Number(args.tokens);
  const intervals = (args['interval-ms'] as string).split(',').map(Number);
  /** Each level's token interval: the one at its position in the list, or the last one. */
  const intervalAt = (level: number) => intervals[Math.min(level, intervals.length - 1)];
  const perSocket = Number(args['per-socket']);
  const levels = (args.streams as string).split(',').map(Number);
  const crossStreams = Number(args['cross-streams']);
  const warmUpStreams = Math.min(levels[0], MAX_WARM_UP_STREAMS);
  const largest = Math.max(...levels, crossStreams, warmUpStreams);
  const workDir = await mkdtemp(join(tmpdir(), 'bench-subscriptions-'));
  const services = new BenchServices(workDir);
  const model = await PacedModel.start();
  const profileDir = args.profile && resolve(args.profile);
  /** The measured windows, for the profiles' summary. */
  const measured: TimeRange[] = [];
  const profiled = async (service: string): Promise<string[]> => {
    if (!profileDir) return [];
    await mkdir(join(profileDir, service), { recursive: true });
    return cpuProfileArgs(join(profileDir, service));
  };
  const subgraphProfiles: Record<string, string[]> = {
    chat: await profiled('chat'),
    conversation: await profiled('conversation'),
    auth: await profiled('auth'),
  };
  let platform: TurnPlatform | undefined;
  try {
    console.log('Starting the platform, this gateway and Hive Gateway...');
    // Each subgraph in a process of its own, as `npm start` runs them, so that chat's CPU per token
    // is read apart from the replies' saves and titles in conversation.
    platform = await startTurnPlatform(services, {
      workDir,
      env: {
        LLM_PROVIDER: 'openai-compatible',
        LLM_BASE_URL: model.url,
        // Replies are held until every stream of a run has started (seconds, at 1,000 streams).
        LLM_FIRST_TOKEN_TIMEOUT_MS: '600000',
        // One user owns every stream (Hive Gateway signs one fixed identity), so its quotas go.
        QUOTA_CONCURRENT_GENERATIONS: String(largest * 2),
        QUOTA_DAILY_TOKENS: '1000000000',
        // Not what is measured, and they load the two cores the gateways share: the prompt's recall
        // (a Chroma search per reply) off, and content saved every 5 s rather than every second.
        RECALL_ENABLED: 'false',
        CHECKPOINT_INTERVAL_MS: '5000',
        GENERATION_LEASE_MS: '30000',
        // The runs outlast the default 15 minutes, and every run connects with the same token.
        ACCESS_TOKEN_TTL_SECONDS: '86400',
      },
      execArgv: (service) => subgraphProfiles[service] ?? [],
    });
    const { pids } = platform;
    const subgraphs: RunningSubgraphs = {
      seedUrl: platform.gatewayUrl,
      subgraphs: {
        auth: platform.env.AUTH_URL,
        conversation: platform.env.CONVERSATION_URL,
        chat: platform.env.CHAT_URL,
      },
      env: platform.env,
    };
    const user = await registerUser({ gatewayUrl: platform.gatewayUrl }, { displayName: 'Bench User' });
    const identity: Identity = {
      userId: user.id,
      role: 'USER',
      sessionId: JSON.parse(Buffer.from(user.accessToken.split('.')[1], 'base64url').toString()).sid,
      requestId: 'bench-subscriptions',
      issuer: 'gateway',
    };
    const secret = subgraphs.env.IDENTITY_SECRET;
    const [ours, hive] = await Promise.all([
      services.startOurGateway(
        subgraphs,
        { SUBSCRIPTIONS_PER_CONNECTION: String(perSocket), SUBSCRIPTIONS_PER_USER: String(largest * 2) },
        await profiled('gateway'),
      ),
      services.startHiveGateway(subgraphs, identity),
    ]);
    // As the gateway's upstream pool: its service identity per connection, the user's per operation.
    const direct: StreamEndpoint = {
      url: subgraphs.subgraphs.chat,
      connectionParams: () => ({
        [IDENTITY_HEADER]: signIdentity(serviceIdentity('gateway'), secret, {
          audience: 'chat',
          digest: CONNECTION_DIGEST,
        }),
      }),
      extensions: (operation) => ({
        [IDENTITY_HEADER]: signIdentity(identity, secret, {
          audience: 'chat',
          digest: operationDigest(operation),
        }),
      }),
    };
    const targets: Target[] = [
      { name: 'chat subgraph, direct', endpoint: direct },
      {
        name: 'this gateway',
        endpoint: { url: ours.url, connectionParams: { authorization: `Bearer ${user.accessToken}` } },
        server: ours,
      },
      { name: 'Hive Gateway 2.15.1', endpoint: { url: hive.url }, server: hive },
    ];

    // sendMessage goes to the chat subgraph itself, so the gateway under test carries only the streams.
    const startGeneration = async (): Promise<string> => {
      const operation = { query: SEND, variables: { input: { content: CONTENT } } };
      const signed = signIdentity(identity, secret, { audience: 'chat', digest: operationDigest(operation) });
      const response = await fetch(subgraphs.subgraphs.chat, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signed },
        body: JSON.stringify(operation),
      });
      const body = (await response.json()) as {
        data?: { sendMessage: { generation: { id: string } } };
        errors?: unknown;
      };
      if (!body.data) throw new Error(`sendMessage failed: ${JSON.stringify(body.errors)}`);
      return body.data.sendMessage.generation.id;
    };
    /** One run; `onTokens` runs as the tokens begin to flow, every subscription being live. */
    const run = (
      target: Target,
      streams: number,
      query: string,
      intervalMs: number,
      onTokens = () => undefined as void,
    ) =>
      services.whileRunning(
        runStreams({
          target: target.endpoint,
          reference: direct,
          streams,
          perSocket,
          referenceEvery: Number(args['reference-every']),
          query,
          referenceQuery: TOKENS,
          startGeneration,
          startConcurrency: Number(args['start-concurrency']),
          beforeTokens: async () => {
            await model.waitForStreams(streams);
            onTokens();
            model.release({ tokens, intervalMs });
          },
          // Starting takes about 40 ms a stream (sendMessage); then the reply; then a wide margin.
          timeoutMs: streams * 200 + tokens * intervalMs * 10 + 30_000,
        }),
      );

    /**
     * CPU is counted while the tokens flow (the streams are set up before, one sendMessage at a
     * time); memory from before the subscriptions open to its peak.
     */
    const measure = async (
      target: Target,
      streams: number,
      intervalMs: number,
      query: string,
      selection: string,
    ) => {
      const memory = target.server && watchMemory(target.server.pid);
      const { chat, conversation, auth } = pids;
      const window = new CpuWindow([chat, conversation, auth, ...(target.server ? [target.server.pid] : [])]);
      const result = await run(target, streams, query, intervalMs, () => window.begin());
      const used = window.end();
      measured.push({
        from: toMonotonicMs(used.startedAt),
        to: toMonotonicMs(used.startedAt + used.seconds * 1000),
      });
      const [chatCpu, conversationCpu, authCpu, gatewayCpu] = used.cpuSeconds;
      console.log(
        formatStreamRow({
          target: target.name,
          selection,
          streams,
          tokensPerSecondEach: 1000 / intervalMs,
          summary: summarize(result, tokens),
          cpu: {
            seconds: used.seconds,
            chat: chatCpu,
            otherSubgraphs: conversationCpu + authCpu,
            bench: used.ownCpuSeconds,
            gateway: gatewayCpu,
          },
          gatewayMemory: memory?.stop(),
          load: loadavg()[0],
        }),
      );
    };

    // Every path warmed up (JIT, plan caches, upstream sockets) before anything is measured, as a
    // server that has been serving streams for a while is: each target in turn, the same rounds.
    for (const target of targets)
      for (let round = 0; round < Number(args['warmup-rounds']); round++)
        await run(target, warmUpStreams, TOKENS, intervalAt(0));
    console.log(
      `\n${tokens} tokens per reply; ${perSocket} subscriptions per client WebSocket; every ${args['reference-every']}th stream also followed directly; each target warmed up with ${args['warmup-rounds']} rounds of ${warmUpStreams} streams; Node ${process.version}; load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    console.log(STREAM_TABLE_HEADER);
    for (const [level, streams] of levels.entries())
      for (const target of targets)
        await measure(target, streams, intervalAt(level), TOKENS, 'seq type delta');
    for (const target of targets.filter((t) => t.server))
      await measure(target, crossStreams, intervalAt(0), WITH_TITLE, '+ message { conversation { title } }');
  } finally {
    // The platform's stop stops every process started here (this gateway and Hive Gateway too), then the stores.
    await (platform ? platform.stop() : services.stop());
    await model.close();
    await rm(workDir, { recursive: true, force: true });
  }
  if (profileDir) {
    // The processes wrote their profiles as they stopped.
    const summary = formatProfileSummary(summariseProfileDirectory(profileDir, { ranges: measured }));
    await writeFile(join(profileDir, 'summary.md'), `${summary}\n`);
    await writeFile(join(profileDir, 'windows.json'), JSON.stringify(measured));
    console.log(`\nCPU profiles in ${profileDir}; where the time went:\n\n${summary}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
