import type { GraphQLResponse } from './graphql-client';

/** One kind of request of a load: how to send it, and what it wrote when it succeeded. */
export interface LoadOperation {
  name: string;
  /** Sends request number `n` (unique within the load, for unique titles and emails). */
  send: (n: number) => Promise<GraphQLResponse<Record<string, unknown>>>;
  /** What a successful answer says was written, to look for once the fault is over. */
  written?: (response: GraphQLResponse<Record<string, unknown>>) => string[];
}

export interface LoadAnswer {
  operation: string;
  /** Milliseconds since the load started. */
  at: number;
  status: number;
  ok: boolean;
  /** The first error's `extensions.code` (`FETCH_FAILED` when no answer came at all). */
  code?: string;
  dependency?: unknown;
  retryAfter?: unknown;
  written: string[];
}

export interface Load {
  answers: readonly LoadAnswer[];
  /** Resolves once `count` answers from now on satisfy `matches`. */
  until: (matches: (answer: LoadAnswer) => boolean, count?: number) => Promise<void>;
  /** Lets each worker finish its request in flight, then returns every answer. */
  stop: () => Promise<LoadAnswer[]>;
}

/**
 * `workers` loops sending the operations in turn, each request as soon as the last was answered,
 * until stopped: a steady write load for a fault test, which reads every answer afterwards.
 */
export function startLoad(operations: LoadOperation[], workers: number): Load {
  const answers: LoadAnswer[] = [];
  const waiters: { matches: (answer: LoadAnswer) => boolean; left: number; resolve: () => void }[] = [];
  const started = Date.now();
  let running = true;
  let sent = 0;

  const record = (answer: LoadAnswer) => {
    answers.push(answer);
    for (const waiter of [...waiters]) {
      if (waiter.matches(answer) && --waiter.left === 0) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const sendOne = async (operation: LoadOperation, n: number): Promise<LoadAnswer> => {
    const at = Date.now() - started;
    try {
      const response = await operation.send(n);
      const [error] = response.errors ?? [];
      const ok = !error && response.data !== null && response.data !== undefined;
      return {
        operation: operation.name,
        at,
        status: response.status,
        ok,
        code: error?.extensions?.code as string | undefined,
        dependency: error?.extensions?.dependency,
        retryAfter: error?.extensions?.retryAfter,
        written: ok ? (operation.written?.(response) ?? []) : [],
      };
    } catch {
      return { operation: operation.name, at, status: 0, ok: false, code: 'FETCH_FAILED', written: [] };
    }
  };

  const worker = async (offset: number) => {
    for (let turn = offset; running; turn++) {
      record(await sendOne(operations[turn % operations.length], sent++));
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, offset) => worker(offset)));

  return {
    answers,
    until: (matches, count = 1) => new Promise((resolve) => waiters.push({ matches, left: count, resolve })),
    stop: async () => {
      running = false;
      await done;
      return answers;
    },
  };
}
