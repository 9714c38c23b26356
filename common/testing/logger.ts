import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logger';

export interface CapturedLogger {
  logger: Logger;
  /** Every line logged so far, as written (JSON). */
  lines: () => string[];
}

/** A real pino logger (same redaction as production) writing to memory, for assertions on logs. */
export function captureLogs(service = 'test', level = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ service, level, destination }), lines: () => [...lines] };
}

export const silentLogger = (): Logger => createLogger({ service: 'test', level: 'silent', pretty: false });
