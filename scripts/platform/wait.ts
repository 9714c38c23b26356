import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from './errors';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /**
   * A promise that rejects when waiting has become pointless (typically: the server's process
   * exited); the wait then fails at once with that error instead of running out its deadline.
   */
  giveUpWhen?: Promise<never>;
}

/**
 * Calls `probe` until it resolves. A probe that rejects means "not yet"; its last error is
 * quoted when the deadline passes, since it usually says why (refused, wrong password, 503...).
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<unknown>,
  options: WaitOptions,
): Promise<void> {
  let gaveUp = false;
  const poll = async (): Promise<void> => {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      try {
        await probe();
        return;
      } catch (error) {
        if (gaveUp) return;
        if (Date.now() >= deadline) {
          throw new Error(
            `${what} did not answer within ${options.timeoutMs / 1000}s (last error: ${errorMessage(error)})`,
          );
        }
      }
      await delay(options.intervalMs ?? 100);
    }
  };
  try {
    await Promise.race(options.giveUpWhen ? [poll(), options.giveUpWhen] : [poll()]);
  } finally {
    gaveUp = true;
  }
}

/** Resolves if `url` answers 2xx; rejects otherwise, saying what it answered. */
export async function checkHttp(url: string, timeoutMs = 2000): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
}

/** Polls `url` until it answers 2xx, or fails naming `what` once the deadline passes. */
export function waitForHttp(what: string, url: string, options: WaitOptions): Promise<void> {
  return waitUntil(`${what} at ${url}`, () => checkHttp(url), options);
}
