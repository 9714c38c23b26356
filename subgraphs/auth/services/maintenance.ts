import type { Logger } from '../../../common/logging/logger';

export interface Sweepable {
  /** Deletes rows that can no longer be used and returns how many. */
  deleteDead(): Promise<number>;
}

const HOUR_MS = 3_600_000;

/**
 * Deletes expired sessions, tokens and retired keys now and then every hour, so the tables hold
 * only what can still matter. Returns the function that stops it.
 */
export function startMaintenance(sweeps: Record<string, Sweepable>, logger: Logger, intervalMs = HOUR_MS) {
  const sweep = async () => {
    for (const [name, table] of Object.entries(sweeps)) {
      try {
        const deleted = await table.deleteDead();
        if (deleted > 0) logger.info({ deleted }, `deleted dead ${name}`);
      } catch (error) {
        logger.warn({ err: error }, `could not delete dead ${name}`);
      }
    }
  };
  let running = sweep();
  const timer = setInterval(() => {
    running = sweep();
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
