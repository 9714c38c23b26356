import { createLogger, type Logger } from '../logging/logger';
import { flushTracing, startTracing, type TelemetryConfig } from '../telemetry/tracing';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal during shutdown, or a stop
 * still running `timeoutMs` after the first, exits at once, so a stuck drain never traps the
 * operator and the process is gone before Kubernetes' SIGKILL.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long, exiting now');
      process.exit(1);
    }, timeoutMs).unref();
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
 * The whole of a service's `main.ts`: validate the environment, set up tracing, log, start, stop
 * on signals (spans still batched are exported last). A configuration error is printed as is (it
 * names each variable) and exits non-zero. Tracing has to hook the stores' clients before they are
 * loaded, so `start` loads the service's modules when called, not before.
 */
export function runService<
  Config extends { LOG_LEVEL: string; SHUTDOWN_TIMEOUT_MS: number } & TelemetryConfig,
>(
  service: string,
  loadConfig: () => Config,
  start: (config: Config, logger: Logger) => Promise<{ stop: () => Promise<void> }>,
): void {
  (async () => {
    const config = loadConfig();
    startTracing(service, config);
    const logger = createLogger({ service, level: config.LOG_LEVEL });
    const running = await start(config, logger);
    const stop = async () => {
      await running.stop();
      await flushTracing();
    };
    stopOnSignals(logger, stop, config.SHUTDOWN_TIMEOUT_MS);
  })().catch((error: unknown) => {
    process.stderr.write(
      `${service} failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
