import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pino from 'pino';

/**
 * The directory where every service a test starts writes its log, set by test/global-setup.ts;
 * test/log-scan.js reads it at the end of the run for secrets (docs/security.md#log-hygiene).
 */
export const RUN_LOG_DIR_VARIABLE = 'TEST_RUN_LOG_DIR';

const runLogDir = (): string | undefined => process.env[RUN_LOG_DIR_VARIABLE] || undefined;

let destination: pino.DestinationStream | undefined;

/**
 * This test process's file in the run log, shared by every logger it creates; undefined outside
 * a jest run. Synchronous, so no line is lost when the worker exits.
 */
export function runLogDestination(): pino.DestinationStream | undefined {
  const dir = runLogDir();
  if (!dir) return undefined;
  destination ??= pino.destination({ dest: join(dir, `test-process-${process.pid}.log`), sync: true });
  return destination;
}

let children = 0;

/** Appends a child process's output (a service a test started) to the run log, which also keeps its pipe drained. */
export function teeToRunLog(output: Readable | null, label: string): void {
  const dir = runLogDir();
  if (!output) return;
  if (!dir) {
    output.resume();
    return;
  }
  children += 1;
  output.pipe(createWriteStream(join(dir, `${label}-${process.pid}-${children}.log`), { flags: 'a' }));
}
