import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { projectRoot } from '../common/config/paths';
import { toMonotonicMs } from './support/clock';
import { cpuProfileArgs, formatProfileSummary, summariseProfileDirectory } from './support/profile-summary';
import { CpuWindow, type CpuUsed } from './support/process-usage';
import { BenchServices, nodeEntry } from './support/services';
import { type PendingWork, TurnAftermath, waitForQuiet, waitUntilSettled } from './support/turn-aftermath';
import {
  PLATFORM_PROCESSES,
  type PlatformProcess,
  startTurnPlatform,
  type TurnPlatform,
} from './support/turn-platform';
import {
  checkTokens,
  formatRun,
  type LevelResult,
  turnLatencies,
  type TurnRun,
  writeDocsSection,
} from './support/turn-report';
import { hopTimes, readTurnMarks } from './support/turn-trace';
import {
  type BenchUser,
  type ConnectedUser,
  connectUsers,
  disconnectUsers,
  registerUsers,
  type TurnRecord,
  SEND_MODES,
  type SendMode,
  type TurnOptions,
  turnsAtOnce,
  turnsAtRate,
} from './support/turns';

/*
 * `npm run bench:turn`: what one chat turn costs the platform, end to end. The platform runs as
 * `npm start` runs it (bench/support/turn-platform.ts): the gateway and the three subgraphs, each a
 * process of its own, on a PostgreSQL, a Redis and a Chroma that this benchmark starts for itself in
 * a temporary directory, with the offline model answering at once. Registered users (beforehand,
 * not measured) each send a message and follow the reply through the gateway over their own graphql-ws
 * connection, as the client library does: `Subscription.chat`, which sends and streams in one operation
 * (`--send mutation`: sendMessage over HTTP, then `generation(id)`; `--send chat,mutation`: both, side by side).
 *
 * Levels: N users sending at once (rounds of that until --turns turns), and open-loop arrivals at a
 * steady rate for --duration seconds. For each: the send's answer, first and last token latency from the
 * moment the turn was due (p50/p99/max), tokens received against the saved replies (lost,
 * reordered), and the CPU of every process read from /proc over a window that closes only once the
 * stores show each turn's work done (reply saved, conversation titled, message indexed through the
 * outbox, generation settled) and the processes are back to idle. Method: docs/performance.md.
 */

const { values: args } = parseArgs({
  options: {
    levels: { type: 'string', default: '1,20,100,200' },
    rates: { type: 'string', default: '5,20,50' },
    duration: { type: 'string', default: '20' },
    turns: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '400' },
    idle: { type: 'string', default: '5' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    trace: { type: 'boolean', default: false },
    json: { type: 'string' },
    docs: { type: 'boolean', default: true },
    quick: { type: 'boolean', default: false },
    send: { type: 'string', default: 'chat' },
    conversation: { type: 'string', default: 'new' },
  },
  allowNegative: true,
});

/** --quick: the smallest run that still takes every path, to check that the benchmark works. */
const QUICK = { levels: '2', rates: '4', duration: '1', turns: '2', warmup: '2', idle: '1' };
const options = args.quick ? { ...args, ...QUICK } : args;
const numbers = (list: string) => (list ? list.split(',').map(Number) : []);

const root = projectRoot();
const DRAIN_TIMEOUT_MS = 60_000;
/** Users a rate level shares its turns among: each sends about every two seconds. */
const usersForRate = (rate: number) => Math.max(2, Math.ceil(rate * 2));
/** The fewest users of a warm-up round; it plays as many at once as the largest level has. */
const WARMUP_USERS = 10;
const SERVICES_IN_PROFILE = ['gateway', 'auth', 'conversation', 'chat'] as const;

type LevelSpec = { send: SendMode } & (
  | { kind: 'at-once'; users: number; rounds: number }
  | { kind: 'rate'; rate: number; seconds: number }
);

/** --send: how turns are sent, each way a level of its own (side by side when more than one). */
function sendModes(list: string): SendMode[] {
  const modes = list.split(',').filter(Boolean);
  const unknown = modes.find((mode) => !SEND_MODES.includes(mode as SendMode));
  if (unknown !== undefined || modes.length === 0) {
    throw new Error(`--send takes ${SEND_MODES.join(' and/or ')}, comma-separated; got "${list}"`);
  }
  return modes as SendMode[];
}
const modes = sendModes(options.send);

/**
 * --conversation: `new` (each turn a first message, in a conversation of its own) or `continue`
 * (each user's turns follow one another in one conversation of theirs, started by their first turn:
 * a follow-up reads the conversation and its history before it writes).
 */
function conversationsFor(mode: string): Map<string, string> | undefined {
  if (mode === 'new') return undefined;
  if (mode === 'continue') return new Map();
  throw new Error(`--conversation takes new or continue; got "${mode}"`);
}
/** Each user's conversation when turns continue one, kept across levels. */
const conversations = conversationsFor(options.conversation);
const turnOptions = (send: SendMode): TurnOptions => ({ send, conversations });

const label = (spec: LevelSpec) =>
  (spec.kind === 'at-once'
    ? `${spec.users} at once${spec.rounds > 1 ? ` ×${spec.rounds}` : ''}`
    : `${spec.rate}/s for ${spec.seconds} s`) + (modes.length > 1 ? `, ${spec.send}` : '');

function levelSpecs(): LevelSpec[] {
  const minTurns = Number(options.turns);
  const seconds = Number(options.duration);
  return [
    ...numbers(options.levels).flatMap((users) =>
      modes.map(
        (send): LevelSpec => ({
          send,
          kind: 'at-once',
          users,
          rounds: Math.max(1, Math.ceil(minTurns / users)),
        }),
      ),
    ),
    ...numbers(options.rates).flatMap((rate) =>
      modes.map((send): LevelSpec => ({ send, kind: 'rate', rate, seconds })),
    ),
  ];
}

/** What the levels need: the running platform, its stores' reader, the users, the processes to watch. */
interface Bench {
  platform: TurnPlatform;
  services: BenchServices;
  aftermath: TurnAftermath;
  users: BenchUser[];
  pids: number[];
}

interface Played {
  turns: TurnRecord[];
  conversations: string[];
  used: CpuUsed;
  drainMs: number;
  pendingAtTimeout?: PendingWork;
  quiet: boolean;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Connects the players, then, inside a CPU window: runs their turns, waits until the stores show
 * every turn's work done, and (when `idleCpuPerSecond` is given) until the processes are idle again.
 * The connections open before the window and close after it: they are not a turn's cost.
 */
async function play(
  bench: Bench,
  players: BenchUser[],
  run: (connected: ConnectedUser[]) => Promise<TurnRecord[]>,
  idleCpuPerSecond?: number,
): Promise<Played> {
  const connected = await connectUsers(bench.platform.gatewayUrl, players);
  try {
    const window = new CpuWindow(bench.pids, { descendants: true });
    window.begin();
    const turns = await bench.services.whileRunning(run(connected));
    const clientsDone = performance.now();
    const conversations = turns.flatMap((turn) => turn.conversationId ?? []);
    const pendingAtTimeout = await bench.aftermath.waitUntilDone(conversations, DRAIN_TIMEOUT_MS);
    const drainMs = performance.now() - clientsDone;
    const quiet = idleCpuPerSecond === undefined || (await waitForQuiet(window, idleCpuPerSecond));
    return { turns, conversations, used: window.end(), drainMs, pendingAtTimeout, quiet };
  } finally {
    await disconnectUsers(connected);
  }
}

/** CPU ms per second of each process with no turn running, once the warm-up's last work has ended. */
async function measureIdle(bench: Bench, seconds: number): Promise<Record<PlatformProcess, number>> {
  const window = new CpuWindow(bench.pids, { descendants: true });
  window.begin();
  await waitUntilSettled(window);
  window.begin();
  await delay(seconds * 1000);
  const idle = window.end();
  return Object.fromEntries(
    PLATFORM_PROCESSES.map((name, i) => [name, (idle.cpuSeconds[i] * 1000) / idle.seconds]),
  ) as Record<PlatformProcess, number>;
}

async function runLevel(
  bench: Bench,
  spec: LevelSpec,
  firstNumber: number,
  idle: Record<PlatformProcess, number>,
): Promise<{ turns: TurnRecord[]; result: LevelResult }> {
  const { gatewayUrl } = bench.platform;
  const idleCpuPerSecond = sum(Object.values(idle)) / 1000;
  const played =
    spec.kind === 'at-once'
      ? await play(
          bench,
          bench.users.slice(0, spec.users),
          (connected) => turnsAtOnce(gatewayUrl, connected, spec.rounds, firstNumber, turnOptions(spec.send)),
          idleCpuPerSecond,
        )
      : await play(
          bench,
          bench.users.slice(0, usersForRate(spec.rate)),
          (connected) =>
            turnsAtRate(gatewayUrl, connected, spec.rate, spec.seconds, firstNumber, turnOptions(spec.send)),
          idleCpuPerSecond,
        );
  const { turns, used } = played;
  const failed = turns.filter((turn) => turn.ended !== 'complete');
  const result: LevelResult = {
    label: label(spec),
    ...spec,
    turns: turns.length,
    failedTurns: failed.length,
    failures: [...new Set(failed.map((turn) => turn.error ?? turn.ended))].slice(0, 5),
    ...turnLatencies(turns),
    tokens: checkTokens(turns, await bench.aftermath.savedReplies(played.conversations)),
    window: {
      from: toMonotonicMs(used.startedAt),
      to: toMonotonicMs(used.startedAt + used.seconds * 1000),
      seconds: used.seconds,
      drainMs: played.drainMs,
      pendingAtTimeout: played.pendingAtTimeout,
      quiet: played.quiet,
    },
    cpuMs: Object.fromEntries(
      PLATFORM_PROCESSES.map((name, i) => [name, used.cpuSeconds[i] * 1000]),
    ) as Record<PlatformProcess, number>,
    clientCpuMs: used.ownCpuSeconds * 1000,
    load: loadavg()[0],
  };
  return { turns, result };
}

/** The report on stdout, the profiles' summary, the raw JSON, and (a full run) the docs' tables. */
async function writeOutputs(run: TurnRun, profileDir: string | undefined): Promise<void> {
  const report = formatRun(run);
  console.log(`\n${report}\n`);
  if (profileDir) {
    // The levels' windows only: start-up, registration and the warm-up would swamp them.
    const ranges = run.levels.map(({ window }) => ({ from: window.from, to: window.to }));
    const summary = formatProfileSummary(summariseProfileDirectory(profileDir, { ranges }));
    await writeFile(join(profileDir, 'summary.md'), `${summary}\n`);
    console.log(`CPU profiles in ${profileDir}; where the time went:\n\n${summary}\n`);
  }
  const jsonPath =
    options.json ??
    (args.quick
      ? undefined
      : join(root, 'bench/results', `turn-${run.startedAt.replace(/[:.]/g, '-')}.json`));
  if (jsonPath) {
    await mkdir(dirname(jsonPath), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
    console.log(`Raw results: ${jsonPath}`);
  }
  if (options.docs && !args.quick) {
    await writeDocsSection(join(root, 'docs/performance.md'), report);
    console.log('Wrote the tables into docs/performance.md.');
  }
}

async function main(): Promise<void> {
  // Ctrl-C: exit, and the 'exit' hooks kill every process the run started (they have process
  // groups of their own, so the terminal's signal does not reach them).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const specs = levelSpecs();
  const profileDir = options.profile && resolve(options.profile);
  const workDir = await mkdtemp(join(tmpdir(), 'bench-turn-'));
  const traceDir = join(workDir, 'trace');
  if (options.trace) await mkdir(traceDir);
  if (profileDir) {
    for (const service of SERVICES_IN_PROFILE) await mkdir(join(profileDir, service), { recursive: true });
  }
  const services = new BenchServices(workDir);
  const recorder = nodeEntry('bench/support/turn-trace-recorder').script;
  console.log(`Starting PostgreSQL, Redis, Chroma and the services (work directory ${workDir})...`);
  const platform = await startTurnPlatform(services, {
    workDir,
    env: {
      LOG_LEVEL: options['log-level'] as string,
      ...(options.trace ? { BENCH_TURN_TRACE_DIR: traceDir } : {}),
    },
    execArgv: (service) => [
      ...(profileDir ? cpuProfileArgs(join(profileDir, service)) : []),
      ...(options.trace ? ['-r', recorder] : []),
    ],
  });
  const levels: { turns: TurnRecord[]; result: LevelResult }[] = [];
  let idle = {} as Record<PlatformProcess, number>;
  const aftermath = await TurnAftermath.open({
    databaseUrl: platform.databaseUrl,
    redisUrl: platform.redisUrl,
    conversationSchema: platform.env.CONVERSATION_DB_SCHEMA ?? 'conversation',
    chatKeyPrefix: platform.env.REDIS_KEY_PREFIX ?? 'chat:',
  });
  try {
    const largest = Math.max(
      WARMUP_USERS,
      ...specs.map((spec) => (spec.kind === 'at-once' ? spec.users : usersForRate(spec.rate))),
    );
    console.log(`Registering ${largest} users...`);
    const users = await services.whileRunning(registerUsers(platform.gatewayUrl, largest));
    const pids = PLATFORM_PROCESSES.map((name) => platform.pids[name]);
    const bench: Bench = { platform, services, aftermath, users, pids };
    let turnNumber = 1;

    const warmup = Number(options.warmup);
    if (warmup > 0) {
      console.log(`Warming up: ${warmup} turns...`);
      // As many at once as the largest level, so that no level meets the platform's first burst of
      // that size: the first costs more, and its tail far more, however many turns came before at
      // fewer users at once (docs/performance.md, "Warm-up").
      const players = users.slice(0, Math.min(largest, warmup));
      const rounds = Math.ceil(warmup / players.length);
      for (const send of modes) {
        await play(bench, players, (connected) =>
          turnsAtOnce(platform.gatewayUrl, connected, rounds, turnNumber, turnOptions(send)),
        );
        turnNumber += rounds * players.length;
      }
    }
    console.log(`Measuring the idle processes for ${options.idle} s...`);
    idle = await measureIdle(bench, Number(options.idle));

    for (const spec of specs) {
      console.log(`Level ${label(spec)}...`);
      const level = await runLevel(bench, spec, turnNumber, idle);
      turnNumber += level.turns.length;
      levels.push(level);
      const { result } = level;
      const { tokens } = result;
      console.log(
        `  ${result.turns} turns, ${result.failedTurns} failed; tokens ${tokens.received} received / ${tokens.saved} saved, ` +
          `${tokens.lost} lost, ${tokens.reordered} reordered; window ${result.window.seconds.toFixed(1)} s`,
      );
    }
  } finally {
    await aftermath.close();
    // The services write their CPU profiles and turn marks as they exit.
    await platform.stop();
  }

  if (options.trace) {
    const marks = readTurnMarks(traceDir);
    for (const level of levels) level.result.hops = hopTimes(level.turns, marks, level.result.send);
  }
  await writeOutputs(
    {
      startedAt: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      memoryGb: totalmem() / 2 ** 30,
      options: Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
      stores: { PostgreSQL: platform.databaseUrl, Redis: platform.redisUrl, Chroma: platform.chromaUrl },
      idleCpuMsPerSecond: idle,
      levels: levels.map((level) => level.result),
    },
    profileDir,
  );
  await rm(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
