import type { Redis } from 'ioredis';

/**
 * Whether `redis` connected again (after a first connection) within the last `windowMs`. Redis may
 * have restarted without its data then, and what it lacks may be about to be written back.
 */
export function reconnectedWithin(redis: Redis, windowMs: number): () => boolean {
  let connectedBefore = false;
  let reconnectedAt = Number.NEGATIVE_INFINITY;
  redis.on('ready', () => {
    if (connectedBefore) reconnectedAt = Date.now();
    connectedBefore = true;
  });
  return () => Date.now() - reconnectedAt < windowMs;
}
