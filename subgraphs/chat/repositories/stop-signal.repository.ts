import type { Redis } from 'ioredis';
import type { Logger } from '../../../common/logging/logger';

/**
 * Carries stopGeneration to whichever replica runs the generation: every replica subscribes to
 * one channel and aborts the id if it is its own. A message lost to a reconnect is covered by the
 * stop flag the runner reads at every heartbeat.
 */
export class StopSignalRepository {
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  listen(onStop: (generationId: string) => void): void {
    this.subscriber.on('message', (channel: string, generationId: string) => {
      if (channel === this.channel) onStop(generationId);
    });
    // The subscriber client fails fast while disconnected, so (re)subscribe whenever it is ready.
    const subscribe = () =>
      this.subscriber.subscribe(this.channel).catch((error: Error) => {
        this.logger.warn({ err: error }, 'could not subscribe to stop signals');
      });
    this.subscriber.on('ready', subscribe);
    if (this.subscriber.status === 'ready') void subscribe();
  }

  async publish(generationId: string): Promise<void> {
    await this.publisher.publish(this.channel, generationId);
  }
}
