import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TURN_TRACE_CHANNEL, type TurnMark } from '../../common/logging/turn-trace';

/*
 * Preloaded into a service's process by `bench:turn --trace` (node -r this file): keeps every turn
 * mark (common/logging/turn-trace.ts) in memory and writes them, one per line (hop, key, linked, hrtime ns),
 * to BENCH_TURN_TRACE_DIR/<pid>.tsv when the process exits. Nothing is written while the turns run,
 * so recording adds no I/O to what it measures.
 */
const directory = process.env.BENCH_TURN_TRACE_DIR;
if (!directory) throw new Error('turn-trace-recorder: BENCH_TURN_TRACE_DIR is not set');

const lines: string[] = [];
subscribe(TURN_TRACE_CHANNEL, (message) => {
  const { hop, key, linked, at } = message as TurnMark;
  lines.push(`${hop}\t${key}\t${linked ?? ''}\t${at}`);
});
process.once('exit', () => {
  writeFileSync(join(directory, `${process.pid}.tsv`), lines.join('\n'));
});
