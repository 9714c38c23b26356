import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/*
 * `npm run bench`: every benchmark under bench/ (each top-level file but this one; helpers live in
 * bench/support/), one after another, each in a process of its own so none warms up another.
 */
const benchmarks = readdirSync(__dirname)
  .filter((file) => file.endsWith('.js') && file !== basename(__filename))
  .sort();

let failed = 0;
for (const file of benchmarks) {
  console.log(`\n=== ${file.replace(/\.js$/, '')} ===`);
  const { status } = spawnSync(process.execPath, [join(__dirname, file)], { stdio: 'inherit' });
  if (status !== 0) failed += 1;
}
process.exitCode = failed === 0 ? 0 : 1;
