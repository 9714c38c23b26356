import { createHash } from 'node:crypto';
import { SupergraphPlanner } from '../subscriptions/planner';

/** The supergraph being served and what became of the ones offered since boot: for /metrics and /health/all. */
export interface SupergraphStatus {
  /** Where supergraphs come from: `file <path>`, `url <url>`, or `introspection`. */
  source: string;
  /** SHA-256 of the SDL being served (hex). */
  hash: string;
  /** When it began to be served. */
  loadedAt: Date;
  /** New supergraphs swapped in since boot. */
  applied: number;
  /** New supergraphs refused since boot (the one before kept serving). */
  refused: number;
  lastRefusal?: { hash: string; at: Date; reason: string };
  /** Reads of the source that failed since boot (a URL answering 5xx or not at all, a file error): nothing was offered. */
  sourceErrors: number;
  lastSourceError?: { at: Date; reason: string };
}

export const supergraphHash = (sdl: string): string => createHash('sha256').update(sdl).digest('hex');

/**
 * The supergraph the gateway serves now, planned for the subscription executor and the edge
 * (access rules, list sizes), with what happened to each supergraph offered since boot. Apollo's
 * gateway calls `load` on every schema it adopts; whoever offered it may have planned it already
 * while validating (`prepared`), so it is not planned twice.
 */
export class CurrentSupergraph {
  private current: { planner: SupergraphPlanner; hash: string; loadedAt: Date } | undefined;
  private prepared: { planner: SupergraphPlanner; hash: string } | undefined;
  private applied = 0;
  private refused = 0;
  private lastRefusal: SupergraphStatus['lastRefusal'];
  private sourceErrors = 0;
  private lastSourceError: SupergraphStatus['lastSourceError'];
  private readonly listeners = new Set<(planner: SupergraphPlanner) => void>();

  constructor(private readonly source: string) {}

  /** A supergraph already validated (and so planned) that is about to be offered to Apollo. */
  prepare(planner: SupergraphPlanner, hash: string): void {
    this.prepared = { planner, hash };
  }

  /** Serves this supergraph from now on; listeners hear of every one after the first. */
  load(coreSupergraphSdl: string): void {
    const hash = supergraphHash(coreSupergraphSdl);
    const planner =
      this.prepared?.hash === hash ? this.prepared.planner : new SupergraphPlanner(coreSupergraphSdl);
    this.prepared = undefined;
    const replaced = this.current !== undefined;
    this.current = { planner, hash, loadedAt: new Date() };
    if (!replaced) return;
    this.applied += 1;
    for (const listener of this.listeners) listener(planner);
  }

  /** Records a supergraph that was offered and not served. */
  refuse(hash: string, reason: string): void {
    this.refused += 1;
    this.lastRefusal = { hash, at: new Date(), reason };
  }

  /** Records a read of the source that failed: the supergraph served stays, and so may a fault upstream of it. */
  sourceUnreadable(reason: string): void {
    this.sourceErrors += 1;
    this.lastSourceError = { at: new Date(), reason };
  }

  /** Calls `listener` with each supergraph that replaces the one served; returns how to stop. */
  onReplace(listener: (planner: SupergraphPlanner) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  readonly planner = (): SupergraphPlanner => {
    if (!this.current) throw new Error('The supergraph is not loaded yet');
    return this.current.planner;
  };

  readonly status = (): SupergraphStatus | undefined =>
    this.current && {
      source: this.source,
      hash: this.current.hash,
      loadedAt: this.current.loadedAt,
      applied: this.applied,
      refused: this.refused,
      lastRefusal: this.lastRefusal,
      sourceErrors: this.sourceErrors,
      lastSourceError: this.lastSourceError,
    };
}
