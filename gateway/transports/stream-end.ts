import type { SessionWatch } from '../context';

/**
 * One watch over what ends a long-lived operation before its upstream does: its session revoked,
 * or the gateway restarting (a retryable error, so the client resumes on another gateway),
 * whichever comes first. Stopping it stops both.
 */
export function streamEnd(...watches: (SessionWatch | undefined)[]): SessionWatch | undefined {
  const present = watches.filter((watch) => watch !== undefined);
  if (present.length <= 1) return present[0];
  return {
    ended: Promise.race(present.map((watch) => watch.ended)),
    stop: () => present.forEach((watch) => watch.stop()),
  };
}
