import type { Logger } from '../../../common/logging/logger';
import type { GenerationRecord } from '../records/generation.record';
import type { QuotaService } from '../services/quota.service';
import type { GenerationRepository } from '../repositories/generation.repository';

/** What a renewal can find out, for the run to act on. */
export interface LeaseSignals {
  /** Someone asked to stop the generation (the pub/sub signal may have been missed). */
  stopRequested: () => void;
  /** Recovery took the generation over: this process must write nothing more. */
  fenced: () => void;
  /** Redis no longer has the generation's record: it lost its data. Resolves once it is written back. */
  lost: () => Promise<void>;
}

export interface LeaseKeeperDependencies {
  generations: GenerationRepository;
  quotas: QuotaService;
  record: GenerationRecord;
  leaseMs: number;
  logger: Logger;
}

/** Renewals per lease: two may be missed (a busy event loop, a slow Redis) before the lease runs out. */
const RENEWALS_PER_LEASE = 3;

/**
 * Keeps a running generation's lease (and its quota slot's) alive, every third of the lease, on a
 * timer of its own: a slow or stopped conversation subgraph delays the content checkpoints, never
 * the lease, so recovery never takes over a healthy generation because PostgreSQL is slow. The lease
 * is what other replicas read to send heartbeats to their subscribers and to detect a dead process.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private renewal: Promise<void> | null = null;

  constructor(
    private readonly deps: LeaseKeeperDependencies,
    private readonly signals: LeaseSignals,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.onTick(), Math.floor(this.deps.leaseMs / RENEWALS_PER_LEASE));
  }

  /** Stops renewing; resolves once a renewal in flight has landed. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewal;
  }

  private onTick(): void {
    this.renewal ??= this.renew()
      .catch((error: Error) => {
        this.deps.logger.warn({ err: error }, 'could not renew the generation lease');
      })
      .finally(() => {
        this.renewal = null;
      });
  }

  private async renew(): Promise<void> {
    const { generations, quotas, record, leaseMs } = this.deps;
    const [found] = await Promise.all([
      generations.renewLease(record, leaseMs),
      quotas.renew(record.userId, record.id),
    ]);
    if (found === 'stop') this.signals.stopRequested();
    else if (found === 'fenced') this.signals.fenced();
    else if (found === 'lost') await this.signals.lost();
  }
}
