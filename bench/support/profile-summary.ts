import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { fixed, markdownTable } from './markdown';

/*
 * Where a service's CPU went, from the V8 CPU profiles that `node --cpu-prof` writes (bench:turn
 * --profile DIR gives each service DIR/<service>/): self time per function and per package, over
 * the samples taken inside given time ranges (the benchmark's measured windows, leaving out start-up
 * and registration), or over the whole profile. Run alone it summarises a directory written earlier,
 * whole:
 *
 *   node dist/bench/support/profile-summary.js DIR [TOP]
 */

/** Node's options that make a process write its V8 CPU profile into `dir` as it exits. */
export const cpuProfileArgs = (dir: string): string[] => ['--cpu-prof', `--cpu-prof-dir=${dir}`];

/** The parts of a .cpuprofile file (Chrome DevTools' Profile) read here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  /** On the machine's monotonic clock, in µs (as process.hrtime, in ns). */
  startTime: number;
  samples: number[];
  /** Microseconds since the previous sample; the first one since startTime. */
  timeDeltas: number[];
}

/** A span of the machine's monotonic clock, in ms (bench/support/clock.ts). */
export interface TimeRange {
  from: number;
  to: number;
}

export interface SelfTime {
  name: string;
  ms: number;
}

export interface ProfileSummary {
  service: string;
  /** The time the samples (in the ranges) stand for, idle included. */
  sampledMs: number;
  /**
   * Sampled time the JavaScript thread was not idle (waiting for I/O). The profiler samples on the
   * wall clock, so on a busy machine this includes time the thread waited for a core.
   */
  busyMs: number;
  functions: SelfTime[];
  packages: SelfTime[];
}

const root = projectRoot();

/** V8's pseudo-frames: not code, but where a sample found the thread. */
const PSEUDO_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** `@apollo/gateway`, `graphql`, `node:internal`, or the project's own folder (`gateway`, `subgraphs/chat`). */
function packageOf(url: string, functionName: string): string {
  if (PSEUDO_FRAMES.has(functionName) && !url) return functionName;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + 'node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const own = relative(root, path).split('/');
  if (own[0].startsWith('..')) return path;
  const [top, second] = own[0] === 'dist' ? own.slice(1) : own;
  return top === 'subgraphs' ? `${top}/${second}` : top;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  const shown =
    modules >= 0 ? path.slice(modules + 'node_modules/'.length) : relative(root, path).replace(/^dist\//, '');
  return `${name} ${shown}:${frame.lineNumber + 1}`;
}

const top = (times: Map<string, number>, count: number): SelfTime[] =>
  [...times.entries()]
    .map(([name, ms]) => ({ name, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);

/**
 * Self time per function and per package over every profile of one service (one per process),
 * counting the samples inside `ranges` only, if any are given.
 */
export function summariseProfiles(
  service: string,
  files: string[],
  { count = 15, ranges }: { count?: number; ranges?: TimeRange[] } = {},
): ProfileSummary {
  const inRanges = (ms: number) => !ranges || ranges.some((range) => ms >= range.from && ms <= range.to);
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let sampledMs = 0;
  let idleMs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    let atUs = profile.startTime;
    profile.samples.forEach((id, i) => {
      atUs += profile.timeDeltas[i];
      // A sample stands for the time until the next one (DevTools' reading of the deltas).
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const frame = frames.get(id);
      if (!frame || ms === 0 || !inRanges(atUs / 1000)) return;
      sampledMs += ms;
      if (frame.functionName === '(idle)') {
        idleMs += ms;
        return;
      }
      const name = frameName(frame);
      functions.set(name, (functions.get(name) ?? 0) + ms);
      const pkg = packageOf(frame.url, frame.functionName);
      packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
    });
  }
  return {
    service,
    sampledMs,
    busyMs: sampledMs - idleMs,
    functions: top(functions, count),
    packages: top(packages, count),
  };
}

/** Each subdirectory of `dir` that holds .cpuprofile files is one service's. */
export function summariseProfileDirectory(
  dir: string,
  options: { count?: number; ranges?: TimeRange[] } = {},
): ProfileSummary[] {
  return readdirSync(dir)
    .filter((entry) => statSync(join(dir, entry)).isDirectory())
    .sort()
    .flatMap((service) => {
      const files = readdirSync(join(dir, service))
        .filter((file) => file.endsWith('.cpuprofile'))
        .map((file) => join(dir, service, file));
      return files.length === 0 ? [] : [summariseProfiles(service, files, options)];
    });
}

export function formatProfileSummary(summaries: ProfileSummary[]): string {
  const share = (ms: number, busyMs: number) => `${fixed((ms / busyMs) * 100, 1)}%`;
  return summaries
    .map((summary) => {
      const rows = (times: SelfTime[]) =>
        times.map(({ name, ms }) => [name, fixed(ms, 0), share(ms, summary.busyMs)]);
      return [
        `### ${summary.service}`,
        '',
        `JavaScript thread busy ${fixed(summary.busyMs, 0)} ms of ${fixed(summary.sampledMs, 0)} ms sampled (the rest idle).`,
        '',
        markdownTable(['package', 'self ms', 'of busy'], rows(summary.packages), [1, 2]),
        '',
        markdownTable(['function', 'self ms', 'of busy'], rows(summary.functions), [1, 2]),
      ].join('\n');
    })
    .join('\n\n');
}

if (require.main === module) {
  const [dir, count] = process.argv.slice(2);
  if (!dir || !existsSync(dir)) {
    console.error(
      'usage: profile-summary DIR [TOP]  (DIR holds one subdirectory of .cpuprofile files per service)',
    );
    process.exit(2);
  }
  console.log(
    formatProfileSummary(summariseProfileDirectory(dir, { count: count ? Number(count) : undefined })),
  );
}
