import { readFile, writeFile } from 'node:fs/promises';
import { splitIntoWords } from '../../subgraphs/chat/providers/offline';
import { fixed, markdownTable } from './markdown';
import { percentile } from './streams';
import type { PendingWork, SavedReply } from './turn-aftermath';
import { PLATFORM_PROCESSES, type PlatformProcess } from './turn-platform';
import { hopPercentile, type HopTimes } from './turn-trace';
import type { SendMode, TurnRecord } from './turns';

/** What the clients received against what the platform saved, over a level's turns. */
export interface TokenCheck {
  /** Tokens received: the words of the TOKEN events' deltas (an event carries the tokens that came within TOKEN_EVENT_INTERVAL_MS). */
  received: number;
  /** TOKEN events received. */
  events: number;
  /** Tokens of the saved replies (the offline model sends one word per chunk). */
  saved: number;
  /** Saved tokens that no client received: max(0, saved − received) per turn. */
  lost: number;
  /** Events that came after one with a later seq, or again (a gap is counted as lost instead). */
  reordered: number;
  /** Turns whose received text differs from the saved reply (or that have no saved reply). */
  mismatched: number;
}

export interface LevelResult {
  label: string;
  /** How its turns were sent (bench/support/turns.ts). */
  send: SendMode;
  kind: 'at-once' | 'rate';
  /** at-once: users sending together, and how many rounds of that; rate: turns per second for `seconds`. */
  users?: number;
  rounds?: number;
  rate?: number;
  seconds?: number;
  turns: number;
  failedTurns: number;
  /** The first few failures' codes, to say why. */
  failures: string[];
  /** Milliseconds from the turn being due, sorted: the send answered (sendMessage, or chat's first event), first token, last token. */
  sendMs: number[];
  firstTokenMs: number[];
  lastTokenMs: number[];
  tokens: TokenCheck;
  /** The CPU window: from the first turn due to the platform idle again after the last one. */
  window: {
    /** When it opened and closed, on the machine's monotonic clock (ms), as CPU profiles count time. */
    from: number;
    to: number;
    seconds: number;
    /** From the last client seeing its reply end to the stores showing every turn's work done. */
    drainMs: number;
    /** What the stores still showed when the wait for them gave up (none: all done). */
    pendingAtTimeout?: PendingWork;
    /** The processes were back to their idle CPU when the window closed. */
    quiet: boolean;
  };
  /** CPU milliseconds over the window, per process (PostgreSQL with its backends), and this benchmark's own. */
  cpuMs: Record<PlatformProcess, number>;
  clientCpuMs: number;
  /** The machine's 1-minute load average at the end of the level. */
  load: number;
  /** With --trace: when the turns reached each hop of the critical path. */
  hops?: HopTimes[];
}

export interface TurnRun {
  startedAt: string;
  node: string;
  cpus: number;
  memoryGb: number;
  options: Record<string, unknown>;
  /** Where the data stores the benchmark started listened. */
  stores: { PostgreSQL: string; Redis: string; Chroma: string };
  /** CPU milliseconds per second of each process with no turn running, measured before the levels. */
  idleCpuMsPerSecond: Record<PlatformProcess, number>;
  levels: LevelResult[];
}

/**
 * Compares each turn's received tokens with its saved reply. A conversation's turns of a level are
 * its newest replies, in the order the turns were due (a user's turns follow one another), so a
 * conversation continued across levels is matched by its last replies.
 */
export function checkTokens(turns: TurnRecord[], saved: Map<string, SavedReply[]>): TokenCheck {
  const check: TokenCheck = { received: 0, events: 0, saved: 0, lost: 0, reordered: 0, mismatched: 0 };
  const byConversation = new Map<string, TurnRecord[]>();
  for (const turn of turns) {
    if (!turn.conversationId) continue;
    const ofConversation = byConversation.get(turn.conversationId) ?? [];
    ofConversation.push(turn);
    byConversation.set(turn.conversationId, ofConversation);
  }
  for (const [conversationId, ofConversation] of byConversation) {
    const replies = saved.get(conversationId) ?? [];
    const first = replies.length - ofConversation.length;
    ofConversation
      .sort((a, b) => a.dueAt - b.dueAt)
      .forEach((turn, i) => checkTurn(check, turn, first + i < 0 ? undefined : replies[first + i]));
  }
  return check;
}

function checkTurn(check: TokenCheck, turn: TurnRecord, reply: SavedReply | undefined): void {
  const tokens = turn.events.filter((event) => event.type === 'TOKEN');
  const savedTokens = reply ? splitIntoWords(reply.content).length : 0;
  const receivedTokens = tokens.reduce((sum, event) => sum + splitIntoWords(event.delta ?? '').length, 0);
  check.received += receivedTokens;
  check.events += tokens.length;
  check.saved += savedTokens;
  check.lost += Math.max(0, savedTokens - receivedTokens);
  let latest = 0;
  for (const { seq } of turn.events) {
    if (seq <= latest) check.reordered += 1;
    latest = Math.max(latest, seq);
  }
  if (!reply || tokens.map((event) => event.delta).join('') !== reply.content) check.mismatched += 1;
}

/** The latencies of a level's turns, from each turn being due, sorted; failed turns have none. */
export function turnLatencies(turns: TurnRecord[]) {
  const sorted = (values: (number | undefined)[]) =>
    values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
  const complete = turns.filter((turn) => turn.ended === 'complete');
  const tokenTimes = (turn: TurnRecord) =>
    turn.events.filter((event) => event.type === 'TOKEN').map((event) => event.at - turn.dueAt);
  return {
    sendMs: sorted(turns.map((turn) => (turn.sentAt === undefined ? undefined : turn.sentAt - turn.dueAt))),
    firstTokenMs: sorted(complete.map((turn) => tokenTimes(turn)[0])),
    lastTokenMs: sorted(complete.map((turn) => tokenTimes(turn).at(-1))),
  };
}

const spread = (sorted: number[]) =>
  `${fixed(percentile(sorted, 50), 1)} / ${fixed(percentile(sorted, 99), 1)} / ${fixed(sorted.at(-1), 1)}`;

const sumOf = (cpu: Record<PlatformProcess, number>) =>
  PLATFORM_PROCESSES.reduce((sum, name) => sum + cpu[name], 0);

export function latencyTable(levels: LevelResult[]): string {
  return markdownTable(
    [
      'level',
      'turns',
      'failed',
      'sent p50 / p99 / max ms',
      'first token p50 / p99 / max ms',
      'last token p50 / p99 / max ms',
      'tokens received / saved',
      'token events',
      'lost',
      'reordered',
      'text ≠ saved',
      'load',
    ],
    levels.map((level) => [
      level.label,
      String(level.turns),
      String(level.failedTurns),
      spread(level.sendMs),
      spread(level.firstTokenMs),
      spread(level.lastTokenMs),
      `${level.tokens.received} / ${level.tokens.saved}`,
      String(level.tokens.events),
      String(level.tokens.lost),
      String(level.tokens.reordered),
      String(level.tokens.mismatched),
      fixed(level.load, 1),
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
}

export function cpuTable(levels: LevelResult[], idle: Record<PlatformProcess, number>): string {
  return markdownTable(
    ['level', ...PLATFORM_PROCESSES, 'sum', 'sum less idle', 'client', 'window s', 'drain ms'],
    levels.map((level) => {
      const perTurn = (ms: number) => fixed(ms / level.turns, 1);
      const idleMs = sumOf(idle) * level.window.seconds;
      return [
        level.label,
        ...PLATFORM_PROCESSES.map((name) => perTurn(level.cpuMs[name])),
        perTurn(sumOf(level.cpuMs)),
        perTurn(sumOf(level.cpuMs) - idleMs),
        perTurn(level.clientCpuMs),
        fixed(level.window.seconds, 1),
        fixed(level.window.drainMs, 0),
      ];
    }),
    PLATFORM_PROCESSES.map((_, i) => i + 1).concat([8, 9, 10, 11, 12]),
  );
}

export function idleTable(idle: Record<PlatformProcess, number>): string {
  return markdownTable(
    ['', ...PLATFORM_PROCESSES, 'sum'],
    [['idle', ...PLATFORM_PROCESSES.map((name) => fixed(idle[name], 2)), fixed(sumOf(idle), 2)]],
    PLATFORM_PROCESSES.map((_, i) => i + 1).concat([8]),
  );
}

/** The critical path of the traced levels: p50 / p99 ms from sending to each hop, a column per level. */
export function hopTable(levels: LevelResult[]): string | undefined {
  const traced = levels.filter((level) => level.hops);
  if (traced.length === 0) return undefined;
  // Every level's steps in the path's order: a level sent another way may pass fewer of them.
  const longest = traced.reduce((most, level) =>
    (level.hops as HopTimes[]).length > (most.hops as HopTimes[]).length ? level : most,
  );
  const steps = (longest.hops as HopTimes[]).map((hop) => hop.step);
  return markdownTable(
    ['hop (ms after sending, p50 / p99)', ...traced.map((level) => level.label)],
    steps.map((step) => [
      step,
      ...traced.map((level) => {
        const hop = (level.hops as HopTimes[]).find((times) => times.step === step);
        return hop === undefined || hop.sinceSendMs.length === 0
          ? '—'
          : `${fixed(hopPercentile(hop, 50), 1)} / ${fixed(hopPercentile(hop, 99), 1)}`;
      }),
    ]),
    traced.map((_, i) => i + 1),
  );
}

/** Anything that makes a level's figures doubtful, in words. */
export function levelWarnings(level: LevelResult): string[] {
  const warnings: string[] = [];
  if (level.failedTurns > 0)
    warnings.push(`${level.label}: ${level.failedTurns} turns failed (${level.failures.join(', ')})`);
  if (level.window.pendingAtTimeout)
    warnings.push(
      `${level.label}: the stores still showed work when the wait gave up: ${JSON.stringify(level.window.pendingAtTimeout)}`,
    );
  if (!level.window.quiet)
    warnings.push(`${level.label}: the processes were not back to idle when the CPU window closed`);
  return warnings;
}

/** The generated part of docs/performance.md: the run, then its tables. */
export function formatRun(run: TurnRun): string {
  const hops = hopTable(run.levels);
  const warnings = run.levels.flatMap(levelWarnings);
  return [
    `Run ${run.startedAt}: Node ${run.node}, ${run.cpus} CPUs, ${fixed(run.memoryGb, 0)} GB; ` +
      `options ${JSON.stringify(run.options)}.`,
    '',
    'Latency, from the moment each turn was due:',
    '',
    latencyTable(run.levels),
    '',
    'CPU milliseconds per turn, over the level’s window:',
    '',
    cpuTable(run.levels, run.idleCpuMsPerSecond),
    '',
    'CPU milliseconds per second with no turn running, measured before the levels:',
    '',
    idleTable(run.idleCpuMsPerSecond),
    ...(hops ? ['', 'Critical path (`--trace`):', '', hops] : []),
    ...(warnings.length > 0 ? ['', 'Warnings:', '', ...warnings.map((warning) => `- ${warning}`)] : []),
  ].join('\n');
}

export const DOCS_BEGIN = '<!-- bench:turn results begin (npm run bench:turn writes this part) -->';
export const DOCS_END = '<!-- bench:turn results end -->';

/** Replaces what lies between the markers of `file` with `section`, keeping the rest of the document. */
export async function writeDocsSection(file: string, section: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const begin = text.indexOf(DOCS_BEGIN);
  const end = text.indexOf(DOCS_END);
  if (begin < 0 || end < begin) throw new Error(`${file} has no ${DOCS_BEGIN} … ${DOCS_END} markers`);
  await writeFile(file, `${text.slice(0, begin + DOCS_BEGIN.length)}\n\n${section}\n\n${text.slice(end)}`);
}
