import { BoundedQueue } from './bounded-queue';

describe('BoundedQueue', () => {
  it('hands items over in order, whether they arrive before or after they are asked for', async () => {
    const queue = new BoundedQueue<number>(10, () => undefined);
    queue.push(1);
    const second = queue.next().then(() => queue.next());
    queue.push(2);
    expect(await second).toEqual({ done: false, value: 2 });
  });

  it('ends after the items it holds are taken', async () => {
    const queue = new BoundedQueue<number>(10, () => undefined);
    queue.push(1);
    queue.end();
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects a waiting reader when the source fails', async () => {
    const queue = new BoundedQueue<number>(10, () => undefined);
    const waiting = queue.next();
    queue.fail(new Error('upstream closed'));
    await expect(waiting).rejects.toThrow('upstream closed');
  });

  it('drops everything and reports once when a slow reader lets it pass its capacity', async () => {
    const overflow = jest.fn();
    const queue = new BoundedQueue<number>(3, overflow);
    for (let i = 0; i < 10; i += 1) queue.push(i);
    expect(overflow).toHaveBeenCalledTimes(1);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });
});
