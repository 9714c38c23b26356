import type { UserCaller } from '../../../common/identity/caller';
import type { Logger } from '../../../common/logging/logger';
import { withTimeout } from '../../../common/util/timeout';
import type { ConversationClient } from '../clients/conversation.client';
import type { RecallHit } from '../records/message.record';

export interface RecallOptions {
  conversations: Pick<ConversationClient, 'recallMessages'>;
  /** At most this many messages recalled into a prompt. */
  limit: number;
  /** The longest a reply waits for recall before it is written without it. */
  timeoutMs: number;
  /**
   * The most searches this process has in flight; a turn that finds them all taken is written
   * without recall rather than queue behind them (a burst of sends would otherwise wait on
   * Chroma's queue of searches before its first tokens).
   */
  maxInFlight: number;
  logger: Logger;
}

/** Nothing recalled: for a turn whose recall is off, or that answers no message. */
export const NOTHING_RECALLED: Promise<RecallHit[]> = Promise.resolve([]);

/**
 * Messages from the user's other conversations like the one a reply answers. A turn starts its
 * recall as soon as its settings say recall is on, beside the writes that start the reply, so the
 * search is mostly done by the time the prompt is built rather than starting then.
 */
export class Recall {
  /** Searches asked for and not yet answered, those a reply stopped waiting for included. */
  private inFlight = 0;

  constructor(private readonly options: RecallOptions) {}

  /**
   * Never rejects: recall is a bonus, and when search is down, slower than the budget or already
   * busy with `maxInFlight` searches, the reply is written without it. `excludeConversationId` is
   * null for a conversation the turn creates.
   */
  start(caller: UserCaller, query: string, excludeConversationId: string | null): Promise<RecallHit[]> {
    const { conversations, limit, timeoutMs, maxInFlight, logger } = this.options;
    if (this.inFlight >= maxInFlight) {
      logger.debug({ inFlight: this.inFlight }, 'recall skipped: as many searches in flight as allowed');
      return NOTHING_RECALLED;
    }
    this.inFlight += 1;
    const search = conversations.recallMessages(caller, query, excludeConversationId, limit);
    // Counted until the search ends, not the reply's wait: a timed-out search still holds the search's resources.
    const ended = () => {
      this.inFlight -= 1;
    };
    search.then(ended, ended);
    return withTimeout(search, timeoutMs, 'recall').catch((error: unknown) => {
      logger.warn({ err: error }, 'recall unavailable; replying without it');
      return [];
    });
  }
}
