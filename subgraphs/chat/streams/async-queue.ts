/**
 * A push-fed async iterator. Unlike an async generator, `return()` ends it at once even while a
 * `next()` is waiting, which is what graphql-ws needs when a client unsubscribes mid-stream.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: Waiting<T> | null = null;
  private ending = false;
  private failure: { error: unknown } | null = null;
  private closed = false;

  /** `onClose` runs once, when the consumer stops or the queue has been drained to its end. */
  constructor(private readonly onClose: () => void = () => undefined) {}

  push(item: T): void {
    if (this.ending || this.closed) return;
    if (this.waiting) {
      this.take().resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  /** No more items; the consumer still receives the ones queued. */
  end(): void {
    this.ending = true;
    if (this.waiting) this.settleEnd(this.take());
  }

  /**
   * The consumer's next `next()` after the queued items rejects with `error`. A queue that has
   * already ended stays ended as it was: what it holds is complete, and a consumer still reading it
   * must not get a failure after it (say, a reply's last event, then an error).
   */
  fail(error: unknown): void {
    if (this.ending || this.closed) return;
    this.failure = { error };
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      if (this.ending) this.settleEnd({ resolve, reject });
      else this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.close();
    if (this.waiting) this.take().resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleEnd(waiting: Waiting<T>): void {
    this.close();
    const failure = this.failure;
    this.failure = null;
    if (failure) waiting.reject(failure.error);
    else waiting.resolve({ value: undefined, done: true });
  }

  private take(): Waiting<T> {
    const waiting = this.waiting as Waiting<T>;
    this.waiting = null;
    return waiting;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

interface Waiting<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}
