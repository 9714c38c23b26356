import { AppError } from '../../common/errors/errors';

export interface SubscriptionLimitsOptions {
  perConnection: number;
  perUser: number;
}

/**
 * Bounds on open subscriptions, per connection and per user (in this gateway process).
 * `open` returns the release function to call when the subscription ends, exactly once.
 */
export class SubscriptionLimits {
  private readonly byConnection = new WeakMap<object, number>();
  private readonly byUser = new Map<string, number>();

  constructor(private readonly options: SubscriptionLimitsOptions) {}

  open(connection: object, userId: string | null): () => void {
    const onConnection = this.byConnection.get(connection) ?? 0;
    if (onConnection >= this.options.perConnection) {
      throw new AppError(
        'QUOTA_EXCEEDED',
        `Too many open subscriptions on this connection (limit ${this.options.perConnection})`,
        {
          limit: 'subscriptionsPerConnection',
        },
      );
    }
    const ofUser = userId ? (this.byUser.get(userId) ?? 0) : 0;
    if (userId && ofUser >= this.options.perUser) {
      throw new AppError(
        'QUOTA_EXCEEDED',
        `Too many open subscriptions (limit ${this.options.perUser} per user)`,
        {
          limit: 'subscriptionsPerUser',
        },
      );
    }
    this.byConnection.set(connection, onConnection + 1);
    if (userId) this.byUser.set(userId, ofUser + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.byConnection.set(connection, (this.byConnection.get(connection) ?? 1) - 1);
      if (userId) {
        const left = (this.byUser.get(userId) ?? 1) - 1;
        if (left > 0) this.byUser.set(userId, left);
        else this.byUser.delete(userId);
      }
    };
  }
}
