import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logging/logger';
import { runLogDestination } from './run-log';

export interface CapturedLogger {
  logger: Logger;
  /** Every line logged so far, as written (JSON). */
  lines: () => string[];
}

/**
 * A real pino logger (same redaction as production) writing to memory, for assertions on logs,
 * and to the run log, which is scanned for secrets at the end of the run.
 */
export function captureLogs(service = 'test', level = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const runLog = runLogDestination();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      runLog?.write(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ service, level, destination }), lines: () => [...lines] };
}

/**
 * The logger of services a test starts in its own process: silent at the terminal; in a jest run
 * it writes everything (debug) to the run log, so the end-of-run scan sees what they log.
 */
export function silentLogger(): Logger {
  const destination = runLogDestination();
  return destination
    ? createLogger({ service: 'test', level: 'debug', destination })
    : createLogger({ service: 'test', level: 'silent', pretty: false });
}
