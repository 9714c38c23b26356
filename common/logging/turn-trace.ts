import { channel } from 'node:diagnostics_channel';

/**
 * The hops of a chat turn, for a breakdown of the time from sendMessage to the first token
 * (`npm run bench:turn -- --trace`, docs/performance.md). Each service marks the hops it sees; the
 * benchmark preloads a recorder into each service's process (bench/support/turn-trace-recorder.ts)
 * that subscribes to this diagnostics channel and writes the marks down. With nobody subscribed,
 * as always outside that benchmark, a mark costs one property read and allocates nothing.
 */
export const TURN_TRACE_CHANNEL = 'llm-chat:turn-trace';

export type TurnHop =
  /** Gateway: an HTTP GraphQL request or a graphql-ws subscribe message arrived (key: its request id). */
  | 'gateway.request-received'
  /** Gateway: a graphql-ws subscribe's caller is authenticated, its context built (key: request id). */
  | 'gateway.authenticated'
  /** Gateway: a subscription passed the rate limits and took its subscription slot (key: request id). */
  | 'gateway.admitted'
  /** Gateway: a subscription is planned and its primary sent to the owning subgraph (key: request id). */
  | 'gateway.forwarded'
  /** Chat: sendMessage (or `Subscription.chat`) began (key: the request id the gateway signed). */
  | 'chat.send-received'
  /** Chat: the turn's context (ownership, settings, history) is read from the conversation subgraph (key: request id). */
  | 'chat.context-read'
  /** Chat: the quotas admitted the turn (key: request id). */
  | 'chat.admitted'
  /** Conversation: a turn's write (with its recall, and a first message's context) began (key: request id). */
  | 'conversation.turn-received'
  /** Conversation: a recall's query is embedded (and its owner's switch read) (key: request id). */
  | 'conversation.recall-embedded'
  /** Conversation: Chroma answered a recall's query (key: request id). */
  | 'conversation.recall-searched'
  /** Conversation: a recall's hits are checked in PostgreSQL (key: request id). */
  | 'conversation.recall-checked'
  /** Conversation: a turn's transaction is committed (key: request id). */
  | 'conversation.turn-written'
  /** Chat: the user message and the STREAMING reply are stored by the conversation subgraph (key: request id). */
  | 'chat.turn-appended'
  /** Chat: the user message and the generation are written, the reply handed to the runner (key: generation id; linked: request id). */
  | 'chat.generation-started'
  /** Chat: the prompt's history and recall (fetched side by side from the conversation subgraph) are in, or were skipped. */
  | 'chat.recall-done'
  /** Chat: the prompt is built and the provider asked for the reply. */
  | 'chat.provider-called'
  /** Chat: the provider's first text arrived. */
  | 'chat.first-token-received'
  /** Chat: the first TOKEN event is in the generation's Redis Stream. */
  | 'chat.first-token-appended'
  /** Chat: a subscriber's event was resolved for sending, one mark per event (key: generation id). */
  | 'chat.event-resolved'
  /** Gateway: a subscription event was executed and handed to the client's socket, one mark per event (key: the subscription's `id` argument, else its request id). */
  | 'gateway.event-forwarded';

/** What the channel carries: `at` is process.hrtime.bigint(), a clock every process on the machine shares. */
export interface TurnMark {
  hop: TurnHop;
  key: string;
  linked?: string;
  at: bigint;
}

const marks = channel(TURN_TRACE_CHANNEL);

/** Marks a hop of a turn, when the turn benchmark's recorder listens; nothing otherwise. */
export function traceTurn(hop: TurnHop, key: string, linked?: string): void {
  if (!marks.hasSubscribers) return;
  const mark: TurnMark = { hop, key, linked, at: process.hrtime.bigint() };
  marks.publish(mark);
}
