import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ExecutionResult, type FormattedExecutionResult, parse } from 'graphql';
import { projectRoot } from '../common/config/paths';
import { silentLogger } from '../common/testing/logger';
import type { GatewayContext } from '../gateway/context';
import { compileEventProjection, type EventProjection } from '../gateway/subscriptions/event-projection';
import { executeEvent, planEvents, prepare } from '../gateway/subscriptions/executor';
import { SupergraphPlanner } from '../gateway/subscriptions/planner';

/*
 * The gateway's own work on one subscription event, measured alone in this process (no sockets, no
 * subgraphs, no load): the same token events of the committed supergraph's `generation`
 * subscription run through `executeQueryPlan` (what every event took before the event projection,
 * and what an event the projection cannot vouch for still takes), then through the subscription's
 * projection, each timed with process.cpuUsage(); the events are dealt in turn to one subscription,
 * then to a thousand (each its own prepared operation and projection, as the executor holds them).
 * Figures: docs/subscriptions.md.
 */

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '10000' },
    /** Open subscriptions the events are dealt to in turn, for each row: one, and a thousand as in bench:subscriptions. */
    subscriptions: { type: 'string', default: '1,1000' },
  },
});

/** Each selection with its variables and the event the chat subgraph sends for its primary fetch. */
const selections = [
  {
    name: 'seq type delta',
    query: 'subscription Stream($id: ID!) { generation(id: $id) { seq type delta } }',
    variables: { id: 'g-1' },
    event: (seq: number) => ({ data: { generation: { seq, type: 'TOKEN', delta: ' token' } } }),
  },
  {
    name: 'aliases, a fragment, __typename, @include',
    query: `
      subscription Stream($id: ID!, $full: Boolean!) {
        event: generation(id: $id) {
          __typename
          n: seq
          ...Token
          generation @include(if: $full) { id status }
        }
      }
      fragment Token on GenerationEvent { type text: delta }`,
    variables: { id: 'g-1', full: true },
    event: (seq: number) => ({
      data: {
        event: {
          __typename: 'GenerationEvent',
          n: seq,
          type: 'TOKEN',
          text: ' token',
          generation: { id: 'g-1', status: 'STREAMING' },
        },
      },
    }),
  },
];

const context = { requestId: 'bench', logger: silentLogger() } as GatewayContext;

/** One open subscription as the executor holds it: how its events run through the plan, and its projection. */
interface Subscribed {
  executed: (event: FormattedExecutionResult) => Promise<ExecutionResult>;
  projected: EventProjection;
}

function subscribe(planner: SupergraphPlanner, selection: (typeof selections)[number]): Subscribed {
  const request = {
    document: parse(selection.query),
    source: selection.query,
    variables: selection.variables,
    context,
  };
  const prepared = prepare(planner, request);
  if ('refused' in prepared) throw new Error(prepared.refused.errors?.[0].message);
  const plan = planEvents(prepared, request);
  if ('refused' in plan) throw new Error(plan.refused.errors?.[0].message);
  const projected = compileEventProjection(
    planner.apiSchema,
    request.document,
    prepared.operationName,
    prepared.variables,
    plan.subscription,
  );
  if (!projected) throw new Error(`no projection for ${selection.name}`);
  return { executed: (event) => executeEvent(event, plan.eventPlan, prepared, {}), projected };
}

/**
 * CPU microseconds (user and system) per event over `count` events dealt in turn to the
 * subscriptions, after `warmup` unmeasured ones.
 */
async function cpuPerEvent(
  subscriptions: readonly Subscribed[],
  run: (subscribed: Subscribed, event: FormattedExecutionResult) => unknown,
  event: (seq: number) => FormattedExecutionResult,
  { count, warmup }: { count: number; warmup: number },
): Promise<number> {
  for (let seq = 0; seq < warmup; seq += 1) await run(subscriptions[seq % subscriptions.length], event(seq));
  // The other path's garbage is collected before, not during, this one's measurement (with --expose-gc).
  globalThis.gc?.();
  const start = process.cpuUsage();
  for (let seq = 0; seq < count; seq += 1) await run(subscriptions[seq % subscriptions.length], event(seq));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

async function main(): Promise<void> {
  const planner = new SupergraphPlanner(
    readFileSync(join(projectRoot(), 'schema/supergraph.graphql'), 'utf8'),
  );
  const events = { count: Number(args.events), warmup: Number(args.warmup) };
  console.log(
    `CPU µs per event: ${events.count} events after ${events.warmup} of warm-up, Node ${process.version}`,
  );
  console.log('| selection | subscriptions | executeQueryPlan | projection |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const selection of selections) {
    for (const open of args.subscriptions.split(',').map(Number)) {
      const subscriptions = Array.from({ length: open }, () => subscribe(planner, selection));
      const sample = selection.event(1);
      const [first] = subscriptions;
      if (JSON.stringify(first.projected(sample)) !== JSON.stringify(await first.executed(sample)))
        throw new Error(`the projection of ${selection.name} differs from executeQueryPlan's result`);
      const before = await cpuPerEvent(
        subscriptions,
        (s, event) => s.executed(event),
        selection.event,
        events,
      );
      const after = await cpuPerEvent(
        subscriptions,
        (s, event) => s.projected(event),
        selection.event,
        events,
      );
      console.log(`| ${selection.name} | ${open} | ${before.toFixed(1)} | ${after.toFixed(2)} |`);
    }
  }
}

void main();
