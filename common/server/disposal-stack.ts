import type { Logger } from '../logging/logger';

type Release = () => Promise<void> | void;

/**
 * What a service's composition root has acquired, released in reverse order. Both `stop()` and a
 * start that fails halfway unwind the same stack, so neither path forgets a pool or a timer.
 */
export class DisposalStack {
  private readonly releases: { name: string; release: Release }[] = [];
  private disposed: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers `release` under `name` (for the log) and hands back `resource`. */
  use<T>(name: string, resource: T, release: (resource: T) => Promise<void> | void): T {
    this.releases.push({ name, release: () => release(resource) });
    return resource;
  }

  /** Registers a release that has no resource of its own (a timer, a subscription). */
  defer(name: string, release: Release): void {
    this.releases.push({ name, release });
  }

  /**
   * Releases everything, last acquired first; one failing release is logged and the rest still run.
   * Idempotent: a second call waits for the first.
   */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const { name, release } of this.releases.splice(0).reverse()) {
        try {
          await release();
        } catch (error) {
          this.logger.error({ err: error, resource: name }, 'releasing a resource failed');
        }
      }
    })();
    return this.disposed;
  }

  /**
   * Runs a composition root: whatever `build` registered is released if it throws (and the error
   * rethrown), so a failed start leaves nothing open.
   */
  async build<T>(build: (stack: this) => Promise<T>): Promise<T> {
    try {
      return await build(this);
    } catch (error) {
      await this.dispose();
      throw error;
    }
  }
}
