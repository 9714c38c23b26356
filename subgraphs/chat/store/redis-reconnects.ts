import type { Redis } from 'ioredis';

/**
 * Whether `redis` connected again (after a first connection) within the last `windowMs`. Redis may
 * have restarted without its data then, and what it lacks may be about to be written back.
 */
export function reconnectedWithin(redis: Redis, windowMs: number): () => boolean {
  // A client already connected when this starts watching has had its first connection: its next
  // `ready` is a reconnection (a process's services are built after its connections come up).
  let connectedBefore = redis.status === 'ready';
  let reconnectedAt = Number.NEGATIVE_INFINITY;
  redis.on('ready', () => {
    if (connectedBefore) reconnectedAt = Date.now();
    connectedBefore = true;
  });
  return () => Date.now() - reconnectedAt < windowMs;
}
