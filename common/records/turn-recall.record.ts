/**
 * A recall asked for with a turn's write: chat sends it, the conversation subgraph searches the
 * owner's other conversations by the turn's message beside the write and answers with both
 * (docs/conversation.md#internal-operations).
 */
export interface TurnRecall {
  /** At most this many messages. */
  first: number;
  /** The longest the write's answer waits for the search, from when the subgraph took the turn. */
  budgetMs: number;
}

/** The longest budget a turn's recall may have: the reply's first token waits on it. */
export const MAX_RECALL_BUDGET_MS = 10_000;
