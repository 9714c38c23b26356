import { setTimeout as pause } from 'node:timers/promises';

export interface EventuallyOptions {
  /** How long to keep trying before the last failure is thrown. */
  timeoutMs?: number;
  /** The pause between tries. */
  intervalMs?: number;
}

/**
 * Runs `check` until it completes without throwing, and returns what it returned: for state that
 * another process, a timer or a background loop writes on its own schedule. After `timeoutMs` the
 * last failure is thrown, so the test fails with the assertion that never came true.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await pause(intervalMs);
    }
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/** A promise settled from outside: a test waits on the moment something happens, not on a sleep. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
