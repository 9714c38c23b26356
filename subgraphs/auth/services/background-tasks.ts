import type { Logger } from '../../../common/logging/logger';

/**
 * Work a request starts but does not wait for (sending a mail, so that the answer takes as long
 * whether or not the account exists). Failures are logged; shutdown waits for what is running.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(description: string, task: () => Promise<void>): void {
    const promise = task()
      .catch((error: unknown) => this.logger.error({ err: error }, `${description} failed`))
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
  }
}
