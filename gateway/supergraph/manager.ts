import type { SupergraphManager, SupergraphSdlUpdateFunction } from '@apollo/gateway';
import type { Logger } from '../../common/logging/logger';
import { type CurrentSupergraph, supergraphHash } from './current';
import type { SupergraphSource } from './source';
import { validateSupergraph } from './validation';

/**
 * Apollo Gateway's supergraph manager for a supergraph that is rolled out while the gateway runs:
 * the first one must load or the gateway does not start; after that, each time the source may have
 * changed it is read, and a supergraph not seen before is validated (validation.ts) and then handed
 * to Apollo, which swaps it in between requests. One that does not validate, or that Apollo throws
 * on, is refused: logged, counted in `current`, and the one before keeps serving. Checks never
 * overlap; a change heard during one is read once it ends.
 */
export class ReloadingSupergraphManager implements SupergraphManager {
  /** The hash of the last supergraph read, served or refused: the same one is not considered twice. */
  private lastHash: string | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  /** Set when Apollo stops the gateway: a check under way then offers nothing more. */
  private stopped = false;

  constructor(
    private readonly source: SupergraphSource,
    private readonly current: CurrentSupergraph,
    private readonly logger: Logger,
  ) {}

  async initialize({ update }: { update: SupergraphSdlUpdateFunction }) {
    const sdl = await this.source.read();
    if (sdl === undefined) throw new Error(`The ${this.source.description} gave no supergraph`);
    const validation = validateSupergraph(sdl);
    if (!validation.ok) {
      throw new Error(`The supergraph ${this.source.description} does not load: ${validation.reason}`);
    }
    this.lastHash = validation.hash;
    this.current.prepare(validation.planner, validation.hash);
    const stopWatching = this.source.watch(() => this.check(update));
    return {
      supergraphSdl: sdl,
      cleanup: async () => {
        this.stopped = true;
        stopWatching();
        await this.checking;
      },
    };
  }

  /** Reads the source now, or once the check under way ends. */
  private check(update: SupergraphSdlUpdateFunction): void {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        await this.reload(update);
      } while (this.again);
    })().finally(() => {
      this.checking = undefined;
    });
  }

  private async reload(update: SupergraphSdlUpdateFunction): Promise<void> {
    const source = this.source.description;
    let sdl: string | undefined;
    try {
      sdl = await this.source.read();
    } catch (error) {
      // Counted for /metrics and /health/all: a source that stays unreadable means no reload can come.
      this.current.sourceUnreadable(error instanceof Error ? error.message : String(error));
      this.logger.warn(
        { err: error, source },
        'supergraph source unreadable; the current supergraph keeps serving',
      );
      return;
    }
    if (sdl === undefined) return;
    const hash = supergraphHash(sdl);
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    const validation = validateSupergraph(sdl);
    const previous = this.current.status()?.hash;
    if (!validation.ok) {
      this.refuse(validation.hash, validation.reason);
      return;
    }
    if (this.stopped) return;
    this.current.prepare(validation.planner, validation.hash);
    try {
      update(sdl);
    } catch (error) {
      this.refuse(validation.hash, error instanceof Error ? error.message : String(error));
      return;
    }
    this.logger.info({ source, hash: validation.hash, previous }, 'supergraph applied');
  }

  private refuse(hash: string, reason: string): void {
    this.current.refuse(hash, reason);
    this.logger.error(
      { source: this.source.description, hash, reason, serving: this.current.status()?.hash },
      'supergraph refused; the current supergraph keeps serving',
    );
  }
}
