import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import type { TurnRun } from './support/turn-report';

const root = projectRoot();
/** Start-up (a PostgreSQL cluster, four services compiled on the fly) takes most of it on a busy machine. */
const RUN_TIMEOUT_MS = 150_000;

/**
 * The turn benchmark (bench/turn.ts) in its smallest run, from source: it must take every path
 * (users at once, arrivals at a rate, the turn trace, CPU profiles) on a platform of its own and
 * lose nothing. Its timings are not checked: this machine is shared and they mean nothing here.
 */
describe('npm run bench:turn -- --quick', () => {
  let dir: string;
  let run: TurnRun;
  let output = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-turn-test-'));
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(root, 'common/testing/swc-register.js'),
        join(root, 'bench/turn.ts'),
        '--quick',
        '--send',
        'chat,mutation',
        '--trace',
        '--profile',
        join(dir, 'profiles'),
        '--json',
        join(dir, 'run.json'),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`the benchmark exited with ${code}:\n${output}`);
    run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as TurnRun;
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a level of users at once and a level of arrivals at a rate, each sent both ways, every turn complete', () => {
    expect(run.levels.map((level) => `${level.kind} ${level.send}`)).toEqual([
      'at-once chat',
      'at-once mutation',
      'rate chat',
      'rate mutation',
    ]);
    for (const level of run.levels) {
      expect(level.turns).toBeGreaterThan(0);
      expect(level.failedTurns).toBe(0);
      expect(level.firstTokenMs).toHaveLength(level.turns);
    }
  });

  it('loses, reorders and alters no token: what the clients received is what was saved', () => {
    for (const level of run.levels) {
      expect(level.tokens.saved).toBeGreaterThan(0);
      expect(level.tokens).toMatchObject({ lost: 0, reordered: 0, mismatched: 0 });
      expect(level.tokens.received).toBe(level.tokens.saved);
    }
  });

  it('closes each CPU window only once the stores show every turn’s work done', () => {
    for (const level of run.levels) expect(level.window.pendingAtTimeout).toBeUndefined();
  });

  it('reads the CPU of processes it started, never the shared servers', () => {
    const shared = [process.env.DATABASE_URL, process.env.REDIS_URL, process.env.CHROMA_URL];
    expect(Object.values(run.stores)).toHaveLength(3);
    for (const url of Object.values(run.stores)) expect(shared).not.toContain(url);
    for (const level of run.levels) {
      const platformCpu = Object.values(level.cpuMs).reduce((sum, ms) => sum + ms, 0);
      expect(platformCpu).toBeGreaterThan(0);
    }
  });

  it('traces each turn from sending to the first token, hop by hop', () => {
    for (const level of run.levels) {
      const hops = level.hops ?? [];
      expect(hops.length).toBeGreaterThan(10);
      // Every turn passed every hop; the step's name says which one did not.
      for (const hop of hops)
        expect(`${hop.step}: ${hop.sinceSendMs.length}`).toBe(`${hop.step}: ${level.turns}`);
    }
  });

  it('writes a CPU profile of each service and a summary of where the time went', () => {
    for (const service of ['gateway', 'auth', 'conversation', 'chat']) {
      expect(readdirSync(join(dir, 'profiles', service)).some((file) => file.endsWith('.cpuprofile'))).toBe(
        true,
      );
    }
    expect(existsSync(join(dir, 'profiles', 'summary.md'))).toBe(true);
    expect(output).toContain('### chat');
  });
});
