import pino, { type Logger } from 'pino';
import { IDENTITY_HEADER } from '../identity/identity-header';
import { serializeError } from './log-hygiene';

export type { Logger };

/**
 * Paths whose values are secrets. pino replaces them before serialisation, so a stray
 * `logger.info({ input })` cannot leak a password or a token.
 */
export const REDACTED_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'passwordHash',
  'headers.authorization',
  'headers.cookie',
  `headers["${IDENTITY_HEADER}"]`,
  'req.headers.authorization',
  'req.headers.cookie',
  `req.headers["${IDENTITY_HEADER}"]`,
  `extensions["${IDENTITY_HEADER}"]`,
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.authorization',
  '*.passwordHash',
  '*.variables',
  `*["${IDENTITY_HEADER}"]`,
];

export interface LoggerOptions {
  service: string;
  level: string;
  /** Pretty, coloured lines for a person at a terminal; JSON otherwise. */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

export function createLogger({ service, level, pretty, destination }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Errors by allowlist: a driver's error carries SQL parameters, a client's the request (log-hygiene.ts).
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  const wantsPretty = pretty ?? (process.stdout.isTTY && process.env.LOG_FORMAT !== 'json');
  if (wantsPretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(options);
}
