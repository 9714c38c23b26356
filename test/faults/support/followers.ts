import type { FormattedExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * Subscribers of a generation through a gateway, as a fault test watches them: every event with
 * the time it arrived, and how the subscription ended.
 */

/** Chat's fields only: an event needs no other subgraph, so a stopped PostgreSQL does not touch it. */
const FOLLOW = `
  subscription Follow($id: ID!, $after: Int!) {
    generation(id: $id, after: $after) { seq type delta error generation { status } }
  }`;

export type Transport = 'ws' | 'sse';

export interface ReceivedEvent {
  seq: number;
  type: string;
  delta: string | null;
  error: string | null;
  generation: { status: string };
  at: number;
}

/** How one subscription ended: completed (after a terminal event, or with none), or with errors. */
export interface Ending {
  at: number;
  codes: string[];
  dependency?: unknown;
}

export interface Subscriber {
  transport: Transport;
  events: ReceivedEvent[];
  /** Every subscription it opened, in order, with how each ended. */
  endings: Ending[];
  /** Resolves once it stopped following (see `follow` and `followUntilTheEnd`). */
  done: Promise<void>;
  /** Resolves once `check` holds, tested at every event and every ending. */
  until: (check: (events: ReceivedEvent[]) => boolean) => Promise<void>;
}

export const TERMINAL_TYPES = new Set(['DONE', 'ERROR', 'STOPPED']);

type Result = FormattedExecutionResult<{ generation: Omit<ReceivedEvent, 'at'> }>;

/** One subscription over `transport`, until it completes or fails. */
function subscribeOnce(
  transport: Transport,
  gatewayUrl: string,
  accessToken: string,
  variables: { id: string; after: number },
  onResult: (result: Result) => void,
): Promise<void> {
  const payload = { query: FOLLOW, variables };
  return new Promise<void>((resolve) => {
    const sink = {
      next: (result: Result) => onResult(result),
      error: (error: unknown) => {
        onResult({ errors: Array.isArray(error) ? error : [{ message: String(error) }] } as Result);
        resolve();
      },
      complete: () => resolve(),
    };
    if (transport === 'ws') {
      const client = createWsClient({
        url: gatewayUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${accessToken}` },
        retryAttempts: 0,
      });
      client.subscribe(payload, {
        ...sink,
        error: (error) => (sink.error(error), void client.dispose()),
        complete: () => (sink.complete(), void client.dispose()),
      });
    } else {
      const client = createSseClient({
        url: gatewayUrl,
        headers: { authorization: `Bearer ${accessToken}` },
        retryAttempts: 0,
      });
      client.subscribe(payload, {
        ...sink,
        error: (error) => (sink.error(error), client.dispose()),
        complete: () => (sink.complete(), client.dispose()),
      });
    }
  });
}

function subscriber(transport: Transport) {
  const events: ReceivedEvent[] = [];
  const endings: Ending[] = [];
  const waiting = new Set<() => void>();
  const until = (check: (received: ReceivedEvent[]) => boolean) =>
    new Promise<void>((resolve) => {
      const test = () => {
        if (!check(events)) return;
        waiting.delete(test);
        resolve();
      };
      waiting.add(test);
      test();
    });
  let failed: Ending | null = null;
  const onResult = (result: Result) => {
    const at = Date.now();
    if (result.errors?.length) {
      failed = {
        at,
        codes: result.errors.map((error) => String(error.extensions?.code)),
        dependency: result.errors[0].extensions?.dependency,
      };
      return;
    }
    if (result.data) events.push({ ...result.data.generation, at });
    for (const test of [...waiting]) test();
  };
  /** Runs one subscription; returns how it ended. */
  const once = async (gatewayUrl: string, accessToken: string, id: string, after: number) => {
    failed = null;
    await subscribeOnce(transport, gatewayUrl, accessToken, { id, after }, onResult);
    const ending: Ending = failed ?? { at: Date.now(), codes: [] };
    endings.push(ending);
    for (const test of [...waiting]) test();
    return ending;
  };
  return { events, endings, until, once };
}

/** Follows a generation with one subscription, as it is: no resuming. */
export function follow(
  transport: Transport,
  gatewayUrl: string,
  accessToken: string,
  id: string,
): Subscriber {
  const { events, endings, until, once } = subscriber(transport);
  const done = once(gatewayUrl, accessToken, id, 0).then(() => undefined);
  return { transport, events, endings, until, done };
}

/**
 * Follows a generation as a client should: after an UPSTREAM_UNAVAILABLE ending it waits
 * `retryMs` and subscribes again with `after` = the last seq it received, until a terminal event,
 * a completion, another error, or `giveUpAfterMs`.
 */
export function followUntilTheEnd(
  transport: Transport,
  gatewayUrl: string,
  accessToken: string,
  id: string,
  { retryMs = 500, giveUpAfterMs = 90_000 } = {},
): Subscriber {
  const { events, endings, until, once } = subscriber(transport);
  const done = (async () => {
    const giveUpAt = Date.now() + giveUpAfterMs;
    for (;;) {
      const after = lastSeq(events);
      const ending = await once(gatewayUrl, accessToken, id, after);
      const terminal = events.some((event) => TERMINAL_TYPES.has(event.type));
      if (terminal || !ending.codes.includes('UPSTREAM_UNAVAILABLE') || Date.now() > giveUpAt) return;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();
  return { transport, events, endings, until, done };
}

/** The reply's events: a HEARTBEAT is not one. */
export const replyEvents = (events: ReceivedEvent[]) => events.filter((event) => event.type !== 'HEARTBEAT');

export const lastSeq = (events: ReceivedEvent[]) => replyEvents(events).at(-1)?.seq ?? 0;

export const textOf = (events: ReceivedEvent[]) =>
  replyEvents(events)
    .map((event) => (event.type === 'TOKEN' ? (event.delta ?? '') : ''))
    .join('');

export const countOf = (events: ReceivedEvent[], type: string) =>
  events.filter((event) => event.type === type).length;
