import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** Linux counts CPU time in clock ticks of 1/100 s (USER_HZ). */
const TICKS_PER_SECOND = 100;

interface ProcessTimes {
  ppid: number;
  /** User and system time, in ticks, of the process and of its children it has waited for. */
  ticks: number;
}

/** `/proc/<pid>/stat` of every process there is; one that ends while it is read is left out. */
async function processTable(): Promise<Map<number, ProcessTimes>> {
  const table = new Map<number, ProcessTimes>();
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
      if (!stat) return;
      // After the command's closing parenthesis: state ppid … utime(14) stime(15) cutime(16) cstime(17).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
      table.set(pid, { ppid: Number(fields[1]), ticks: utime + stime + cutime + cstime });
    }),
  );
  return table;
}

const isJestWorker = (pid: number) =>
  readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (command) => command.includes('jest-worker'),
    () => false,
  );

/**
 * What the test runner's other processes are doing: the CPU ticks they (and everything they started)
 * have used so far, and how many processes the other workers have running, a test file's servers
 * and stores (an idle worker has none).
 */
async function others(): Promise<{ ticks: number; started: number }> {
  const table = await processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const siblings = (children.get(process.ppid) ?? []).filter((pid) => pid !== process.pid);
  let ticks = 0;
  let started = 0;
  for (const sibling of siblings) {
    const worker = await isJestWorker(sibling);
    const pending = [sibling];
    while (pending.length > 0) {
      const pid = pending.pop() as number;
      ticks += table.get(pid)?.ticks ?? 0;
      if (worker && pid !== sibling) started += 1;
      pending.push(...(children.get(pid) ?? []));
    }
  }
  return { ticks, started };
}

export interface RunAloneOptions {
  /** How long the others must have stayed under `idleShare` of a core (default 5 s). */
  quietMs?: number;
  /** The share of one core the others may use and still count as idle (default 0.15). */
  idleShare?: number;
  /** Gives up waiting after this long and goes on beside them (default 8 min). */
  timeoutMs?: number;
}

/**
 * Waits until the test runner's other workers (this process's siblings) have gone idle: none has a
 * process of its own running, and together with whatever else the runner started they have used
 * less than `idleShare` of a core for `quietMs`. A suite that needs both cores to itself, sorted
 * last (test/sequencer.js), so starts once the rest of the suite has finished rather than beside
 * its last file. Resolves with whether it saw them idle; run alone (`jest -i`, one file), there are
 * no others and it resolves once `quietMs` has passed.
 */
export async function waitUntilTheRestHaveFinished(options: RunAloneOptions = {}): Promise<boolean> {
  const { quietMs = 5_000, idleShare = 0.15, timeoutMs = 480_000 } = options;
  const sampleMs = 1_000;
  const giveUpAt = Date.now() + timeoutMs;
  let last = (await others()).ticks;
  let quietSince = Date.now();
  while (Date.now() < giveUpAt) {
    await delay(sampleMs);
    const { ticks, started } = await others();
    const share = (ticks - last) / TICKS_PER_SECOND / (sampleMs / 1000);
    last = ticks;
    if (started > 0 || share > idleShare) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return true;
  }
  return false;
}
