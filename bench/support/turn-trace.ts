import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TurnHop } from '../../common/logging/turn-trace';
import { fromMonotonicMs } from './clock';
import { percentile } from './streams';
import type { SendMode, TurnRecord } from './turns';

/** The marks of every service, by hop, then by key, in the order they were made (this process's performance.now() ms). */
export interface TurnMarks {
  times: Map<string, Map<string, number[]>>;
  /** Each generation's request: the `linked` id of its `chat.generation-started` mark. */
  requestOf: Map<string, string>;
}

/** Reads what bench/support/turn-trace-recorder.ts wrote in each service's process. */
export function readTurnMarks(dir: string): TurnMarks {
  const marks: TurnMarks = { times: new Map(), requestOf: new Map() };
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.tsv'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const [hop, key, linked, at] = line.split('\t');
      if (!at) continue;
      if (hop === 'chat.generation-started' && linked) marks.requestOf.set(key, linked);
      let byKey = marks.times.get(hop);
      if (!byKey) marks.times.set(hop, (byKey = new Map()));
      const times = byKey.get(key) ?? [];
      times.push(fromMonotonicMs(Number(BigInt(at)) / 1e6));
      byKey.set(key, times);
    }
  }
  return marks;
}

/** A step of the path from sending to the first token: where its time comes from for one turn. */
interface Step {
  name: string;
  at: (turn: TurnRecord, marks: TurnMarks) => number | undefined;
  /** Passed only by turns sent this way (the gateway's graphql-ws hops, say); every turn's when unset. */
  only?: SendMode;
}

const firstTokenIndex = (turn: TurnRecord) => turn.events.findIndex((event) => event.type === 'TOKEN');

/** The turn's request id: the one it sent, or the one the gateway gave its `Subscription.chat`. */
const requestOf = (turn: TurnRecord, marks: TurnMarks) =>
  turn.requestId ?? (turn.generationId === undefined ? undefined : marks.requestOf.get(turn.generationId));

/**
 * The nth mark of `hop` for the turn, keyed by its request, its generation, or its subscription (the
 * gateway keys a subscription's events by `generation(id)`'s argument, and `chat(input)`'s by its request).
 */
const mark =
  (
    hop: TurnHop,
    by: 'request' | 'generation' | 'subscription',
    nth: (turn: TurnRecord) => number = () => 0,
  ) =>
  (turn: TurnRecord, marks: TurnMarks) => {
    const key =
      by === 'generation' || (by === 'subscription' && turn.requestId !== undefined)
        ? turn.generationId
        : requestOf(turn, marks);
    return key === undefined ? undefined : marks.times.get(hop)?.get(key)?.[nth(turn)];
  };

/** In the order a turn normally passes them; a reply may start before sendMessage's answer is back. */
const STEPS: Step[] = [
  { name: 'gateway: request received', at: mark('gateway.request-received', 'request') },
  // A `sendMessage` over HTTP passes none of these: its subscription comes after the send.
  { name: 'gateway: authenticated', at: mark('gateway.authenticated', 'request'), only: 'chat' },
  { name: 'gateway: admitted', at: mark('gateway.admitted', 'request'), only: 'chat' },
  { name: 'gateway: forwarded to chat', at: mark('gateway.forwarded', 'request'), only: 'chat' },
  { name: 'chat: send received', at: mark('chat.send-received', 'request') },
  { name: 'chat: context read', at: mark('chat.context-read', 'request') },
  { name: 'chat: quotas admitted', at: mark('chat.admitted', 'request') },
  { name: 'conversation: turn received', at: mark('conversation.turn-received', 'request') },
  { name: 'conversation: recall embedded', at: mark('conversation.recall-embedded', 'request') },
  { name: 'conversation: Chroma answered', at: mark('conversation.recall-searched', 'request') },
  { name: 'conversation: turn written', at: mark('conversation.turn-written', 'request') },
  { name: 'conversation: recall checked', at: mark('conversation.recall-checked', 'request') },
  { name: 'chat: turn stored', at: mark('chat.turn-appended', 'request') },
  { name: 'chat: generation started', at: mark('chat.generation-started', 'generation') },
  { name: 'client: send answered', at: (turn) => turn.sentAt },
  { name: 'chat: history and recall in', at: mark('chat.recall-done', 'generation') },
  { name: 'chat: provider called', at: mark('chat.provider-called', 'generation') },
  { name: 'chat: first token from provider', at: mark('chat.first-token-received', 'generation') },
  { name: 'chat: first token in Redis', at: mark('chat.first-token-appended', 'generation') },
  // The subscriber's events are resolved and forwarded one by one: the first token is the one at the index the client saw it.
  { name: 'chat: first token resolved', at: mark('chat.event-resolved', 'generation', firstTokenIndex) },
  {
    name: 'gateway: first token forwarded',
    at: mark('gateway.event-forwarded', 'subscription', firstTokenIndex),
  },
  { name: 'client: first token received', at: (turn) => turn.events[firstTokenIndex(turn)]?.at },
];

export interface HopTimes {
  step: string;
  /** Milliseconds from the turn being due to this step, sorted, one per turn that has the mark. */
  sinceSendMs: number[];
}

/** For each step of the critical path that turns sent `send`'s way pass, how long after sending the turns reached it. */
export function hopTimes(turns: TurnRecord[], marks: TurnMarks, send: SendMode): HopTimes[] {
  const complete = turns.filter((turn) => turn.ended === 'complete');
  return STEPS.filter((step) => step.only === undefined || step.only === send).map((step) => ({
    step: step.name,
    sinceSendMs: complete
      .flatMap((turn) => {
        const at = step.at(turn, marks);
        return at === undefined ? [] : [at - turn.dueAt];
      })
      .sort((a, b) => a - b),
  }));
}

export const hopPercentile = (times: HopTimes, p: number): number => percentile(times.sinceSendMs, p);
