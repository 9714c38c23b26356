import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cpuSeconds, treeCpuSeconds } from './process-usage';

/** Burns `seconds` of CPU (by the process's own count, whatever else the machine does). */
const burn = (seconds: number) => `const until = ${seconds * 1e6}; while (process.cpuUsage().user < until);`;

/**
 * A parent that starts two children, each burning 0.3 s of CPU: the first exits (the parent waits
 * for it, so the kernel adds its time to the parent's children's time), the second stays alive.
 * The parent prints "ready" once both have burnt.
 */
const PARENT = `
const { spawn } = require('node:child_process');
const exiting = spawn(process.execPath, ['-e', ${JSON.stringify(burn(0.3))}], { stdio: 'ignore' });
const staying = spawn(process.execPath, ['-e', ${JSON.stringify(`${burn(0.3)} console.log('burnt'); process.stdin.resume();`)}], { stdio: ['pipe', 'pipe', 'ignore'] });
let waiting = 2;
const done = () => { if (--waiting === 0) console.log('ready'); };
exiting.on('exit', done);
staying.stdout.once('data', done);
process.stdin.on('end', () => { staying.kill(); process.exit(0); });
process.stdin.resume();
`;

describe('treeCpuSeconds', () => {
  it('counts a process with its live children and the children it has reaped', async () => {
    const parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: parent.stdout });
      await once(lines, 'line');
      const own = cpuSeconds(parent.pid as number);
      const [tree] = treeCpuSeconds([parent.pid as number]);
      // Both children's 0.3 s each, give or take a clock tick (10 ms) apiece.
      expect(tree - own).toBeGreaterThanOrEqual(0.58);
    } finally {
      parent.stdin.end();
      await once(parent, 'exit');
    }
  });

  it('says so when a process is gone rather than count it as idle', () => {
    expect(() => treeCpuSeconds([2 ** 22 + 1])).toThrow(/gone/);
  });
});
