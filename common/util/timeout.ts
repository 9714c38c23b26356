/** Raised by `withTimeout` when the work did not settle in time. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Whether `work` settles within `ms`: true if it fulfils in time, false once `ms` have passed, and
 * its rejection if it fails in time. The work itself goes on either way.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles like `work`, or rejects with a TimeoutError after `ms`. For clients that take no
 * abort signal: the work itself goes on, but the caller stops waiting for it.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(await settlesWithin(work, ms))) throw new TimeoutError(`${what}: no answer within ${ms} ms`);
  return work;
}
