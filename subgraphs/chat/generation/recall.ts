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
  constructor(private readonly options: RecallOptions) {}

  /**
   * Never rejects: recall is a bonus, and when search is down or slower than the budget the reply
   * is written without it. `excludeConversationId` is null for a conversation the turn creates.
   */
  start(caller: UserCaller, query: string, excludeConversationId: string | null): Promise<RecallHit[]> {
    const { conversations, limit, timeoutMs, logger } = this.options;
    return withTimeout(
      conversations.recallMessages(caller, query, excludeConversationId, limit),
      timeoutMs,
      'recall',
    ).catch((error: unknown) => {
      logger.warn({ err: error }, 'recall unavailable; replying without it');
      return [];
    });
  }
}
