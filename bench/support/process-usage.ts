import { readFileSync } from 'node:fs';

/** /proc reports CPU time in clock ticks; CLK_TCK is 100 on Linux. */
const MS_PER_CLOCK_TICK = 10;
const RSS_SAMPLE_MS = 250;

/** CPU seconds (user + system) another process has used, from /proc (Linux only). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * MS_PER_CLOCK_TICK) / 1000;
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
  seconds: number;
  /** CPU seconds of each watched process, in the order given. */
  cpuSeconds: number[];
  /** This process's own. */
  ownCpuSeconds: number;
}

/**
 * CPU used by other processes (read from /proc: their own process.cpuUsage is out of reach) and
 * by this one, over a window that `begin` opens (say, once the streams are set up) and `end` closes.
 */
export class CpuWindow {
  private begun: { at: number; cpuSeconds: number[]; own: NodeJS.CpuUsage } | undefined;

  constructor(private readonly pids: number[]) {}

  begin(): void {
    this.begun = { at: performance.now(), cpuSeconds: this.pids.map(cpuSeconds), own: process.cpuUsage() };
  }

  end(): CpuUsed {
    if (!this.begun) throw new Error('CpuWindow.end before begin');
    const { at, cpuSeconds: before, own } = this.begun;
    const ownUsed = process.cpuUsage(own);
    return {
      seconds: (performance.now() - at) / 1000,
      cpuSeconds: this.pids.map((pid, i) => cpuSeconds(pid) - before[i]),
      ownCpuSeconds: (ownUsed.user + ownUsed.system) / 1e6,
    };
  }
}
