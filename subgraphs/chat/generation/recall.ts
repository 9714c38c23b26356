import type { UserCaller } from '../../../common/identity/caller';
import type { Logger } from '../../../common/logging/logger';
import { withTimeout } from '../../../common/util/timeout';
import type { ConversationClient } from '../clients/conversation.client';
import type { TurnRecall } from '../../../common/records/turn-recall.record';
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
 * Messages from the user's other conversations like the one a reply answers. A turn that writes a
 * message asks for its recall in that write's request (`within`): the conversation subgraph
 * searches beside the write, and the search is done, or given up, by the time the write answers. A
 * reply to a message already written (a regenerate) searches on its own (`start`), beside the write
 * of its placeholder. Either way this process has at most `maxInFlight` recalls in flight.
 */
export class Recall {
  /** Searches asked for and not yet answered, those a reply stopped waiting for included. */
  private inFlight = 0;

  constructor(private readonly options: RecallOptions) {}

  /**
   * Runs a turn's `write` with a recall for it to carry: the limit and the budget, or null when this
   * process already has `maxInFlight` recalls in flight (the turn is then written without recall
   * rather than queue behind them). The recall counts until the write answers, which the conversation
   * subgraph does within the budget whatever the search does.
   */
  async within<T>(write: (recall: TurnRecall | null) => Promise<T>): Promise<T> {
    if (!this.take()) return write(null);
    try {
      return await write({ first: this.options.limit, budgetMs: this.options.timeoutMs });
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * A search of its own, for a reply whose message is already written. Never rejects: recall is a
   * bonus, and when search is down, slower than the budget or already busy with `maxInFlight`
   * searches, the reply is written without it.
   */
  start(caller: UserCaller, query: string, excludeConversationId: string | null): Promise<RecallHit[]> {
    const { conversations, limit, timeoutMs, logger } = this.options;
    if (!this.take()) return NOTHING_RECALLED;
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

  /** Takes a slot for a recall; false, logged, when all `maxInFlight` are taken. */
  private take(): boolean {
    if (this.inFlight >= this.options.maxInFlight) {
      this.options.logger.debug(
        { inFlight: this.inFlight },
        'recall skipped: as many searches in flight as allowed',
      );
      return false;
    }
    this.inFlight += 1;
    return true;
  }
}
