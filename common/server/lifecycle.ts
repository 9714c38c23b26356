import { createLogger, type Logger } from '../logging/logger';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal during shutdown
 * exits at once, so a stuck drain never traps the operator.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * The whole of a service's `main.ts`: validate the environment, log, start, stop on signals.
 * A configuration error is printed as is (it names each variable) and exits non-zero.
 */
export function runService<Config extends { LOG_LEVEL: string }>(
  service: string,
  loadConfig: () => Config,
  start: (config: Config, logger: Logger) => Promise<{ stop: () => Promise<void> }>,
): void {
  (async () => {
    const config = loadConfig();
    const logger = createLogger({ service, level: config.LOG_LEVEL });
    const running = await start(config, logger);
    stopOnSignals(logger, running.stop);
  })().catch((error: unknown) => {
    process.stderr.write(
      `${service} failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
