import type { LogContext, Logger as MikroOrmLogger, LoggerNamespace } from '@mikro-orm/core';
import { scrubSecrets } from '../logging/log-hygiene';
import type { Logger } from '../logging/logger';

const QUERY_NAMESPACES: ReadonlySet<string> = new Set(['query', 'query-params']);
/** MikroORM colours its notices for a terminal; a JSON log wants the text alone. */
// eslint-disable-next-line no-control-regex -- the escape character is what this removes
const TERMINAL_COLOURS = /\u001b\[[0-9;]*m/g;

/**
 * MikroORM's logger: its notices (discovery, migrations, deprecations) go to pino at debug, or at
 * their own level for warnings and errors; queries never do, whatever `debug` or a query's own
 * `logging` option says, since MikroORM writes them with their parameters inlined.
 */
export class OrmLogger implements MikroOrmLogger {
  constructor(private readonly logger: Logger) {}

  log(namespace: string, message: string, context?: LogContext): void {
    if (QUERY_NAMESPACES.has(namespace)) return;
    const level = context?.level === 'error' ? 'error' : context?.level === 'warning' ? 'warn' : 'debug';
    this.logger[level]({ orm: namespace }, scrubSecrets(message.replace(TERMINAL_COLOURS, '')));
  }

  error(namespace: string, message: string, context?: LogContext): void {
    this.log(namespace, message, { ...context, level: 'error' });
  }

  warn(namespace: string, message: string, context?: LogContext): void {
    this.log(namespace, message, { ...context, level: 'warning' });
  }

  logQuery(): void {}

  setDebugMode(): void {}

  isEnabled(namespace: LoggerNamespace): boolean {
    return !QUERY_NAMESPACES.has(namespace);
  }
}
