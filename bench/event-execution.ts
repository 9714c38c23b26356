import 'reflect-metadata';
import { type ExecutionArgs, type ExecutionResult, parse, subscribe } from 'graphql';
import { parseArgs } from 'node:util';
import { subscribeWithCompiledEvents } from '../common/graphql/compiled-events';
import { GenerationStatus } from '../subgraphs/chat/records/generation.record';
import { buildChatSchema } from '../subgraphs/chat/schema';
import type { FollowedEvent } from '../subgraphs/chat/services/generation.service';
import { GenerationEventType } from '../subgraphs/chat/streams/generation-event';
import { userCaller } from '../subgraphs/chat/testing/chat-config';
import { PLANNED_GENERATION_EVENTS } from '../subgraphs/chat/testing/planned-operations';
import { streamingGeneration } from '../subgraphs/chat/testing/records';

/*
 * The CPU the chat subgraph spends executing one subscription event, in isolation: the chat schema,
 * the document the gateway's planner sends chat for the clients' GenerationEvents, and a reply's
 * events (START, TOKENs, USAGE, DONE) from an in-memory stream, through graphql-js's `subscribe`
 * (what graphql-ws runs by default) and through the compiled executor (common/graphql/compiled-events.ts),
 * in alternating rounds, each after a warm-up. No socket, no Redis: the rest of an event's cost is
 * not here. The services run with NODE_ENV=production, which makes graphql-js skip checks of its
 * own; run this the same way for figures that compare (docs/performance.md#executing-an-event).
 */

const { values: options } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '5' },
  },
});
const EVENTS = Number(options.events);
const ROUNDS = Number(options.rounds);

const caller = userCaller('u1');

/** A reply of `count` events as a follower delivers them: one record shared until something changes. */
function reply(count: number): FollowedEvent[] {
  const streaming = streamingGeneration({ firstTokenAt: new Date() });
  const usage = { promptTokens: 12, completionTokens: count - 3, estimated: false };
  const events: FollowedEvent[] = [
    { event: { seq: 1, type: GenerationEventType.START, model: 'offline-1' }, generation: streaming },
  ];
  for (let seq = 2; seq < count - 1; seq += 1) {
    events.push({
      event: { seq, type: GenerationEventType.TOKEN, delta: ` word${seq}` },
      generation: streaming,
    });
  }
  const counted = { ...streaming, usage };
  events.push({ event: { seq: count - 1, type: GenerationEventType.USAGE, ...usage }, generation: counted });
  events.push({
    event: { seq: count, type: GenerationEventType.DONE },
    generation: { ...counted, status: GenerationStatus.COMPLETE, finishedAt: new Date() },
  });
  return events;
}

type Subscribe = (args: ExecutionArgs) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;

/** CPU µs per event of one subscription over `events`, and its last result. */
async function run(subscribeWith: Subscribe | null, args: ExecutionArgs, events: FollowedEvent[]) {
  async function* follow() {
    yield* events;
  }
  const contextValue = { caller, generations: { follow: async () => follow() } };
  const before = process.cpuUsage();
  let last: unknown;
  if (subscribeWith) {
    const results = await subscribeWith({ ...args, contextValue });
    if (!(Symbol.asyncIterator in results))
      throw new Error(`the subscription failed: ${JSON.stringify(results)}`);
    for await (const result of results) last = result;
  } else {
    for await (const event of follow()) last = event;
  }
  const { user, system } = process.cpuUsage(before);
  return { microsPerEvent: (user + system) / events.length, last: JSON.stringify(last) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const schema = await buildChatSchema();
  const args: ExecutionArgs = {
    schema,
    document: parse(PLANNED_GENERATION_EVENTS),
    variableValues: { id: 'g1', after: 0 },
  };
  const events = reply(EVENTS);
  const targets: [string, Subscribe | null][] = [
    ['the stream alone (no execution)', null],
    ['graphql-js subscribe', subscribe],
    ['compiled executor', subscribeWithCompiledEvents],
  ];
  const figures = new Map<string, number[]>(targets.map(([name]) => [name, []]));
  const lastResults = new Set<string>();
  for (const [, subscribeWith] of targets) await run(subscribeWith, args, reply(5000));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, subscribeWith] of targets) {
      const { microsPerEvent, last } = await run(subscribeWith, args, events);
      figures.get(name)?.push(microsPerEvent);
      if (subscribeWith) lastResults.add(last);
    }
  }
  if (lastResults.size !== 1) throw new Error(`the executors disagree: ${[...lastResults].join(' / ')}`);
  console.log(
    `NODE_ENV=${process.env.NODE_ENV ?? ''}, ${EVENTS} events, ${ROUNDS} rounds (median, min–max):`,
  );
  for (const [name, values] of figures) {
    const low = Math.min(...values).toFixed(2);
    const high = Math.max(...values).toFixed(2);
    console.log(`  ${name.padEnd(34)} ${median(values).toFixed(2)} µs CPU per event (${low}–${high})`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
