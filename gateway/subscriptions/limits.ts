import { AppError } from '../../common/errors/errors';
import type { SharedSlots } from '../../common/stores/shared-slots';

export interface SubscriptionLimitsOptions {
  perConnection: number;
  perUser: number;
  /** Where a user's open subscriptions are counted across every gateway replica (its Redis). */
  userSlots: SharedSlots;
}

const tooMany = (message: string, limit: string) => new AppError('QUOTA_EXCEEDED', message, { limit });

/**
 * Bounds on open subscriptions: per connection (a connection lives in one process, so counted
 * here) and per user (counted in Redis, so the bound holds across gateway replicas).
 * `open` returns the release function to call when the subscription ends; calling it again is harmless.
 */
export class SubscriptionLimits {
  private readonly byConnection = new WeakMap<object, number>();

  constructor(private readonly options: SubscriptionLimitsOptions) {}

  async open(connection: object, userId: string | null): Promise<() => void> {
    const { perConnection, perUser, userSlots } = this.options;
    if ((this.byConnection.get(connection) ?? 0) >= perConnection) {
      throw tooMany(
        `Too many open subscriptions on this connection (limit ${perConnection})`,
        'subscriptionsPerConnection',
      );
    }
    const releaseUserSlot = userId ? await userSlots.acquire(userId, perUser) : () => undefined;
    if (!releaseUserSlot) {
      throw tooMany(`Too many open subscriptions (limit ${perUser} per user)`, 'subscriptionsPerUser');
    }
    // Counted after the await: another subscription on this connection may have been admitted meanwhile.
    const onConnection = this.byConnection.get(connection) ?? 0;
    if (onConnection >= perConnection) {
      releaseUserSlot();
      throw tooMany(
        `Too many open subscriptions on this connection (limit ${perConnection})`,
        'subscriptionsPerConnection',
      );
    }
    this.byConnection.set(connection, onConnection + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.byConnection.set(connection, (this.byConnection.get(connection) ?? 1) - 1);
      releaseUserSlot();
    };
  }
}
