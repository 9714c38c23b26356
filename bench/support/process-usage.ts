import { readdirSync, readFileSync } from 'node:fs';

/** /proc reports CPU time in clock ticks; CLK_TCK is 100 on Linux. */
const MS_PER_CLOCK_TICK = 10;
const RSS_SAMPLE_MS = 250;

/** What /proc/<pid>/stat says of a process's CPU, in seconds, and who its parent is. */
interface ProcessStat {
  ppid: number;
  /** User + system time of the process itself (all its threads). */
  ownSeconds: number;
  /** User + system time of its children that have exited and been waited for. */
  reapedChildrenSeconds: number;
}

/** Undefined when the process is gone (it may exit between listing /proc and reading it). */
function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (second field) is in parentheses and may itself hold spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  const seconds = (ticks: string[]) =>
    (ticks.reduce((sum, t) => sum + Number(t), 0) * MS_PER_CLOCK_TICK) / 1000;
  return {
    ppid: Number(fields[1]),
    ownSeconds: seconds(fields.slice(11, 13)),
    reapedChildrenSeconds: seconds(fields.slice(13, 15)),
  };
}

/** CPU seconds (user + system) another process has used, from /proc (Linux only). */
export function cpuSeconds(pid: number): number {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return stat.ownSeconds;
}

/**
 * CPU seconds of each process with all its descendants (PostgreSQL's backends are children of the
 * postmaster; redis-server forks to save): the process's own time, its exited children's (the
 * kernel adds them to the parent once it waits for them), and every live descendant's, so a
 * difference of two readings holds the work of a child that started or ended between them.
 * One scan of /proc serves every process asked for.
 */
export function treeCpuSeconds(pids: readonly number[]): number[] {
  const stats = new Map<number, ProcessStat>();
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    stats.set(pid, stat);
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const total = (pid: number): number => {
    const stat = stats.get(pid);
    if (!stat) return 0;
    const own = stat.ownSeconds + stat.reapedChildrenSeconds;
    return (children.get(pid) ?? []).reduce((sum, child) => sum + total(child), own);
  };
  return pids.map((pid) => {
    if (!stats.has(pid)) throw new Error(`process ${pid} is gone`);
    return total(pid);
  });
}

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : 0;
}

export interface ProcessMemory {
  /** RSS when the watch began, to tell what the load added. */
  startRssMb: number;
  peakRssMb: number;
}

/** A server's resident memory from now until `stop`, sampled every quarter second for the peak. */
export function watchMemory(pid: number): { stop: () => ProcessMemory } {
  const startRssMb = rssMb(pid);
  let peakRssMb = startRssMb;
  const sample = () => (peakRssMb = Math.max(peakRssMb, rssMb(pid)));
  const sampler = setInterval(() => {
    try {
      sample();
    } catch {
      // The process is gone: whoever started it reports that; nothing more to sample.
      clearInterval(sampler);
    }
  }, RSS_SAMPLE_MS);
  sampler.unref();
  return {
    stop: () => {
      clearInterval(sampler);
      sample();
      return { startRssMb, peakRssMb };
    },
  };
}

export interface CpuUsed {
  /** When the window opened: performance.now(). */
  startedAt: number;
  seconds: number;
  /** CPU seconds of each watched process, in the order given. */
  cpuSeconds: number[];
  /** This process's own. */
  ownCpuSeconds: number;
}

export interface CpuWindowOptions {
  /** Count each process's descendants with it (treeCpuSeconds); by default the process alone. */
  descendants?: boolean;
}

/**
 * CPU used by other processes (read from /proc: their own process.cpuUsage is out of reach) and
 * by this one, over a window that `begin` opens (say, once the streams are set up) and `end` closes.
 * `elapsed` reads the window so far without closing it.
 */
export class CpuWindow {
  private begun: { at: number; cpuSeconds: number[]; own: NodeJS.CpuUsage } | undefined;

  constructor(
    private readonly pids: number[],
    private readonly options: CpuWindowOptions = {},
  ) {}

  begin(): void {
    this.begun = { at: performance.now(), cpuSeconds: this.read(), own: process.cpuUsage() };
  }

  elapsed(): CpuUsed {
    if (!this.begun) throw new Error('CpuWindow read before begin');
    const { at, cpuSeconds: before, own } = this.begun;
    const ownUsed = process.cpuUsage(own);
    return {
      startedAt: at,
      seconds: (performance.now() - at) / 1000,
      cpuSeconds: this.read().map((seconds, i) => seconds - before[i]),
      ownCpuSeconds: (ownUsed.user + ownUsed.system) / 1e6,
    };
  }

  end(): CpuUsed {
    const used = this.elapsed();
    this.begun = undefined;
    return used;
  }

  private read(): number[] {
    return this.options.descendants ? treeCpuSeconds(this.pids) : this.pids.map(cpuSeconds);
  }
}
