/**
 * Events of one subscription waiting for its client, bounded: a client that reads slower than
 * events arrive would otherwise grow this queue without end. Past `capacity`, `onOverflow` runs
 * once and nothing more is kept.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failing: ((reason: unknown) => void) | null = null;
  private ended = false;
  private failure: { reason: unknown } | null = null;
  private overflowed = false;

  constructor(
    private readonly capacity: number,
    private readonly onOverflow: () => void,
  ) {}

  push(item: T): void {
    if (this.ended || this.overflowed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.clearWaiter();
      resolve({ done: false, value: item });
      return;
    }
    if (this.items.length >= this.capacity) {
      this.overflowed = true;
      this.items.length = 0;
      this.onOverflow();
      return;
    }
    this.items.push(item);
  }

  end(): void {
    this.ended = true;
    if (this.waiting && this.items.length === 0) {
      const resolve = this.waiting;
      this.clearWaiter();
      resolve({ done: true, value: undefined });
    }
  }

  fail(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = { reason };
    if (this.failing && this.items.length === 0) {
      const reject = this.failing;
      this.clearWaiter();
      reject(reason);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ done: false, value: this.items.shift() as T });
    if (this.failure) return Promise.reject(this.failure.reason);
    if (this.ended || this.overflowed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failing = reject;
    });
  }

  private clearWaiter(): void {
    this.waiting = null;
    this.failing = null;
  }
}
