import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../common/paths';
import { toMonotonicMs } from './support/clock';
import { formatProfileSummary, summariseProfileDirectory } from './support/profile-summary';
import { CpuWindow } from './support/process-usage';
import { BenchServices, nodeEntry } from './support/services';
import { TurnAftermath, waitForQuiet } from './support/turn-aftermath';
import { PLATFORM_PROCESSES, type PlatformProcess, startTurnPlatform } from './support/turn-platform';
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
  connectUsers,
  disconnectUsers,
  registerUsers,
  type TurnRecord,
  turnsAtOnce,
  turnsAtRate,
} from './support/turns';

/*
 * `npm run bench:turn`: what one chat turn costs the platform, end to end. The platform runs as
 * `npm start` runs it (bench/support/turn-platform.ts): the gateway and the three subgraphs, each a
 * process of its own, on a PostgreSQL, a Redis and a Chroma that this benchmark starts for itself in
 * a temporary directory, with the offline model answering at once. Registered users (beforehand,
 * not measured) each send a message and follow the reply through the gateway, as the client library
 * does: sendMessage over HTTP, then `generation(id)` over their own graphql-ws connection.
 *
 * Levels: N users sending at once (rounds of that until --turns turns), and open-loop arrivals at a
 * steady rate for --duration seconds. For each: sendMessage, first and last token latency from the
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
    warmup: { type: 'string', default: '40' },
    idle: { type: 'string', default: '5' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    trace: { type: 'boolean', default: false },
    json: { type: 'string' },
    docs: { type: 'boolean', default: true },
    quick: { type: 'boolean', default: false },
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
/** Users of the warm-up round. */
const WARMUP_USERS = 10;
const SERVICES_IN_PROFILE = ['gateway', 'auth', 'conversation', 'chat'] as const;

type LevelSpec =
  | { kind: 'at-once'; users: number; rounds: number }
  | { kind: 'rate'; rate: number; seconds: number };

const label = (spec: LevelSpec) =>
  spec.kind === 'at-once'
    ? `${spec.users} at once${spec.rounds > 1 ? ` ×${spec.rounds}` : ''}`
    : `${spec.rate}/s for ${spec.seconds} s`;

function levelSpecs(): LevelSpec[] {
  const minTurns = Number(options.turns);
  const seconds = Number(options.duration);
  return [
    ...numbers(options.levels).map(
      (users): LevelSpec => ({ kind: 'at-once', users, rounds: Math.max(1, Math.ceil(minTurns / users)) }),
    ),
    ...numbers(options.rates).map((rate): LevelSpec => ({ kind: 'rate', rate, seconds })),
  ];
}

async function main(): Promise<void> {
  const specs = levelSpecs();
  const profileDir = options.profile && resolve(options.profile);
  const workDir = await mkdtemp(join(tmpdir(), 'bench-turn-'));
  const traceDir = join(workDir, 'trace');
  if (options.trace) await mkdir(traceDir);
  if (profileDir) {
    await Promise.all(
      SERVICES_IN_PROFILE.map((service) => mkdir(join(profileDir, service), { recursive: true })),
    );
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
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, service)}`] : []),
      ...(options.trace ? ['-r', recorder] : []),
    ],
  });
  const aftermath = await TurnAftermath.open({
    databaseUrl: platform.databaseUrl,
    redisUrl: platform.redisUrl,
    conversationSchema: platform.env.CONVERSATION_DB_SCHEMA ?? 'conversation',
    chatKeyPrefix: platform.env.REDIS_KEY_PREFIX ?? 'chat:',
  });
  const pids = PLATFORM_PROCESSES.map((name) => platform.pids[name]);
  const levels: { spec: LevelSpec; turns: TurnRecord[]; result: LevelResult }[] = [];
  let idleCpuMsPerSecond = {} as Record<PlatformProcess, number>;
  let turnNumber = 1;
  try {
    const largest = Math.max(
      WARMUP_USERS,
      ...specs.map((spec) => (spec.kind === 'at-once' ? spec.users : usersForRate(spec.rate))),
    );
    console.log(`Registering ${largest} users...`);
    const users = await services.whileRunning(registerUsers(platform.gatewayUrl, largest));

    /** Connects the users, runs the turns, and waits until the stores show their work done. */
    const play = async (
      players: BenchUser[],
      run: (connected: Awaited<ReturnType<typeof connectUsers>>) => Promise<TurnRecord[]>,
      window?: CpuWindow,
    ) => {
      const connected = await connectUsers(platform.gatewayUrl, players);
      try {
        window?.begin();
        const turns = await services.whileRunning(run(connected));
        const clientsDone = performance.now();
        const conversations = turns.flatMap((turn) => turn.conversationId ?? []);
        const pendingAtTimeout = await aftermath.waitUntilDone(conversations, DRAIN_TIMEOUT_MS);
        return { turns, conversations, pendingAtTimeout, drainMs: performance.now() - clientsDone };
      } finally {
        await disconnectUsers(connected);
      }
    };

    const warmupTurns = Number(options.warmup);
    if (warmupTurns > 0) {
      console.log(`Warming up: ${warmupTurns} turns...`);
      const players = users.slice(0, Math.min(WARMUP_USERS, warmupTurns));
      const rounds = Math.ceil(warmupTurns / players.length);
      await play(players, (connected) => turnsAtOnce(platform.gatewayUrl, connected, rounds, turnNumber));
      turnNumber += rounds * players.length;
    }

    console.log(`Measuring the idle processes for ${options.idle} s...`);
    const idleWindow = new CpuWindow(pids, { descendants: true });
    // Whatever the warm-up left running (Chroma, PostgreSQL writing out) ends first: it is not idle.
    idleWindow.begin();
    await waitForQuiet(idleWindow, 0);
    idleWindow.begin();
    await new Promise((done) => setTimeout(done, Number(options.idle) * 1000));
    const idle = idleWindow.end();
    idleCpuMsPerSecond = Object.fromEntries(
      PLATFORM_PROCESSES.map((name, i) => [name, (idle.cpuSeconds[i] * 1000) / idle.seconds]),
    ) as Record<PlatformProcess, number>;
    const idleCpuPerSecond = idle.cpuSeconds.reduce((a, b) => a + b, 0) / idle.seconds;

    for (const spec of specs) {
      console.log(`Level ${label(spec)}...`);
      const window = new CpuWindow(pids, { descendants: true });
      const first = turnNumber;
      const played =
        spec.kind === 'at-once'
          ? await play(
              users.slice(0, spec.users),
              (connected) => turnsAtOnce(platform.gatewayUrl, connected, spec.rounds, first),
              window,
            )
          : await play(
              users.slice(0, usersForRate(spec.rate)),
              (connected) => turnsAtRate(platform.gatewayUrl, connected, spec.rate, spec.seconds, first),
              window,
            );
      const quiet = await waitForQuiet(window, idleCpuPerSecond);
      const used = window.end();
      turnNumber += played.turns.length;
      const failed = played.turns.filter((turn) => turn.ended !== 'complete');
      const result: LevelResult = {
        label: label(spec),
        ...spec,
        turns: played.turns.length,
        failedTurns: failed.length,
        failures: [...new Set(failed.map((turn) => turn.error ?? turn.ended))].slice(0, 5),
        ...turnLatencies(played.turns),
        tokens: checkTokens(played.turns, await aftermath.savedReplies(played.conversations)),
        window: {
          from: toMonotonicMs(used.startedAt),
          to: toMonotonicMs(used.startedAt + used.seconds * 1000),
          seconds: used.seconds,
          drainMs: played.drainMs,
          pendingAtTimeout: played.pendingAtTimeout,
          quiet,
        },
        cpuMs: Object.fromEntries(
          PLATFORM_PROCESSES.map((name, i) => [name, used.cpuSeconds[i] * 1000]),
        ) as Record<PlatformProcess, number>,
        clientCpuMs: used.ownCpuSeconds * 1000,
        load: loadavg()[0],
      };
      levels.push({ spec, turns: played.turns, result });
      const { tokens } = result;
      console.log(
        `  ${result.turns} turns, ${result.failedTurns} failed; tokens ${tokens.received} received / ${tokens.saved} saved, ` +
          `${tokens.lost} lost, ${tokens.reordered} reordered; window ${used.seconds.toFixed(1)} s`,
      );
    }
  } finally {
    await aftermath.close();
    // The services write their CPU profiles and turn marks as they exit.
    await platform.stop();
  }

  if (options.trace) {
    const marks = readTurnMarks(traceDir);
    for (const level of levels) level.result.hops = hopTimes(level.turns, marks);
  }
  const run: TurnRun = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    memoryGb: totalmem() / 2 ** 30,
    options: Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    stores: { PostgreSQL: platform.databaseUrl, Redis: platform.redisUrl, Chroma: platform.chromaUrl },
    idleCpuMsPerSecond,
    levels: levels.map((level) => level.result),
  };
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
  await rm(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
