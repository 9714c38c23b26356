import { AsyncQueue } from './async-queue';

const drain = async <T>(queue: AsyncQueue<T>) => {
  const items: T[] = [];
  for await (const item of queue) items.push(item);
  return items;
};

describe('AsyncQueue', () => {
  it('gives the consumer every item pushed, then ends', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.end();
    await expect(drain(queue)).resolves.toEqual([1, 2]);
  });

  it('rejects after the queued items when it fails', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.fail(new Error('stream stalled'));
    await expect(queue.next()).resolves.toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('stream stalled');
  });

  it('stays ended as it was when a failure comes after its end: a slow consumer still reads it whole', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('token');
    queue.push('DONE');
    queue.end();

    queue.fail(new Error('stream stalled'));

    await expect(drain(queue)).resolves.toEqual(['token', 'DONE']);
  });

  it('runs onClose once, when the consumer has read it to its end or stopped', async () => {
    let closes = 0;
    const queue = new AsyncQueue<number>(() => closes++);
    queue.push(1);
    queue.end();
    await drain(queue);
    await queue.return();
    expect(closes).toBe(1);
  });
});
