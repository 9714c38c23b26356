import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';

const root = projectRoot();
const RUN_TIMEOUT_MS = 60_000;
/** Stopped short of the test's timeout, so that a hung run fails with its output rather than lingering. */
const KILL_AFTER_MS = 45_000;

/**
 * The relay floor (bench/relay-floor.ts) in a tiny run, from source: three processes per way of
 * relaying, every event of every round delivered (a round waits for all of them, so a lost one would
 * hang it past the timeout). Its figures are not checked: this machine is shared.
 */
describe('bench/relay-floor.ts', () => {
  it(
    'relays every event in each of its three ways and prints a figure for each',
    async () => {
      const child = spawn(
        process.execPath,
        [
          '-r',
          join(root, 'common/testing/swc-register.js'),
          join(root, 'bench/relay-floor.ts'),
          ...[
            '--streams',
            '12',
            '--tokens',
            '5',
            '--interval-ms',
            '5',
            '--warmup-rounds',
            '1',
            '--rounds',
            '2',
          ],
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: KILL_AFTER_MS },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];

      expect({ code, output }).toMatchObject({ code: 0 });
      const rows = output.split('\n').filter((line) => /^\| (json|graphql-ws)/.test(line));
      expect(rows.map((row) => row.split('|')[1].trim())).toEqual([
        'json',
        'json, corked',
        'graphql-ws messages, corked',
      ]);
      for (const row of rows) expect(Number(row.split('|')[2])).toBeGreaterThan(0);
    },
    RUN_TIMEOUT_MS,
  );
});
