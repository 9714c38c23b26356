import type { Writable } from 'node:stream';

/**
 * A function to call before writing to `stream`: the first call in a tick corks the stream until
 * the tick's work (its nextTick callbacks and promise reactions) is done, so everything written
 * meanwhile leaves in one `writev` as the tick ends, and nothing waits past it.
 */
export function tickCorker(stream: Writable): () => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked || !stream.writable) return;
    corked = true;
    stream.cork();
    process.nextTick(uncork);
  };
}

/**
 * Every write to `stream` made in one tick leaves in one system call. For a client that writes
 * each request as it is made (ioredis): a burst's requests share a write, while a lone request
 * costs one `cork` more, not a pipeline object of its own as ioredis's auto-pipelining makes.
 */
export function coalesceTickWrites(stream: Writable): void {
  const corkForTick = tickCorker(stream);
  const write = stream.write;
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
    corkForTick();
    return write.apply(this, args);
  } as Writable['write'];
}
