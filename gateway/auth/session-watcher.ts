import type { GraphQLError } from 'graphql';
import { AppError, toGraphQLError } from '../../common/errors/errors';
import type { Logger } from '../../common/logging/logger';
import type { SessionRevocationList } from '../../common/identity/session-revocation';
import type { GatewayContext, SessionWatch } from '../context';

const NEVER: Promise<GraphQLError> = new Promise(() => undefined);

/**
 * Ends long-lived operations (subscriptions) of a session once it is revoked. One timer checks
 * every watched session in a single Redis round trip, however many streams are open.
 */
export class SessionWatcher {
  private readonly watchers = new Map<string, Set<(error: GraphQLError) => void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly revocations: Pick<SessionRevocationList, 'revokedAmong'>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  readonly watch = (context: GatewayContext): SessionWatch => {
    const sessionId = context.identity.sessionId;
    if (!sessionId) return { ended: NEVER, stop: () => undefined };
    let end!: (error: GraphQLError) => void;
    const ended = new Promise<GraphQLError>((resolve) => {
      end = resolve;
    });
    const watchers = this.watchers.get(sessionId) ?? new Set();
    watchers.add(end);
    this.watchers.set(sessionId, watchers);
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref();
    return { ended, stop: () => this.forget(sessionId, end) };
  };

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watchers.clear();
  }

  private forget(sessionId: string, end: (error: GraphQLError) => void): void {
    const watchers = this.watchers.get(sessionId);
    watchers?.delete(end);
    if (watchers?.size === 0) this.watchers.delete(sessionId);
    if (this.watchers.size === 0) this.stop();
  }

  /** A Redis outage leaves open streams running (new requests are refused meanwhile); it is logged. */
  async check(): Promise<void> {
    if (this.watchers.size === 0) return;
    let revoked: Set<string>;
    try {
      revoked = await this.revocations.revokedAmong([...this.watchers.keys()]);
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot check open streams for revoked sessions');
      return;
    }
    for (const sessionId of revoked) {
      const error = toGraphQLError(new AppError('UNAUTHENTICATED', 'This session has ended; sign in again'));
      for (const end of this.watchers.get(sessionId) ?? []) end(error);
      this.watchers.delete(sessionId);
    }
    if (this.watchers.size === 0) this.stop();
  }
}
