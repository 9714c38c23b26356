import type { Logger } from '../../../common/logging/logger';
import { sleep } from '../support/sleep';
import { GenerationAbort, type GenerationJob, type GenerationRunner } from './generation-runner';

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The generations running in this process: started in the background (a request returns at
 * once and a subscriber leaving changes nothing), stopped on request, drained on shutdown.
 */
export class GenerationSupervisor {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly runner: GenerationRunner,
    private readonly logger: Logger,
  ) {}

  get count(): number {
    return this.running.size;
  }

  isRunning(generationId: string): boolean {
    return this.running.has(generationId);
  }

  launch(job: GenerationJob): void {
    const { id } = job.generation;
    const controller = new AbortController();
    const done = this.runner
      .run(job, controller.signal)
      .catch((error: unknown) =>
        this.logger.error({ err: error, generationId: id }, 'generation run crashed'),
      )
      .finally(() => this.running.delete(id));
    this.running.set(id, { controller, done });
  }

  /** Aborts the generation if it runs here; false when it does not. */
  stop(generationId: string): boolean {
    const running = this.running.get(generationId);
    running?.controller.abort(new GenerationAbort('stopped'));
    return running !== undefined;
  }

  /** Lets running generations finish for up to `graceMs`, then saves the rest as INTERRUPTED. */
  async shutdown(graceMs: number): Promise<void> {
    const all = () => Promise.all([...this.running.values()].map((running) => running.done));
    const grace = new AbortController();
    const finished = await Promise.race([
      all().then(() => true),
      sleep(graceMs, grace.signal).then(
        () => false,
        () => true,
      ),
    ]);
    grace.abort();
    if (finished) return;
    this.logger.warn(
      { generations: this.running.size },
      'shutting down with generations running; interrupting them',
    );
    for (const running of this.running.values()) running.controller.abort(new GenerationAbort('shutdown'));
    await all();
  }
}
