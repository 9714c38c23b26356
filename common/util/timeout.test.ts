import { settlesWithin, TimeoutError, withTimeout } from './timeout';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(resolve, ms, value));
const failingAfter = (ms: number, error: Error) =>
  new Promise<never>((_, reject) => setTimeout(reject, ms, error));

describe('settlesWithin', () => {
  it('is true when the work fulfils in time', async () => {
    await expect(settlesWithin(after(5, 'done'), 1_000)).resolves.toBe(true);
  });

  it('is false once the time has passed, and the work goes on unobserved', async () => {
    let finished = false;
    const work = after(60, undefined).then(() => (finished = true));
    await expect(settlesWithin(work, 10)).resolves.toBe(false);
    expect(finished).toBe(false);
    await work;
    expect(finished).toBe(true);
  });

  it('rejects as the work does when it fails in time', async () => {
    const failure = new Error('refused');
    await expect(settlesWithin(failingAfter(5, failure), 1_000)).rejects.toBe(failure);
  });

  it('leaves a work that fails after the time without an unhandled rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await expect(settlesWithin(failingAfter(30, new Error('late')), 5)).resolves.toBe(false);
      await after(60, undefined);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('withTimeout', () => {
  it('settles like the work when it settles in time', async () => {
    await expect(withTimeout(after(5, 'value'), 1_000, 'reading')).resolves.toBe('value');
    const failure = new Error('refused');
    await expect(withTimeout(failingAfter(5, failure), 1_000, 'reading')).rejects.toBe(failure);
  });

  it('rejects with a TimeoutError naming the work once the time has passed', async () => {
    const late = withTimeout(after(200, 'value'), 10, 'reading the index');
    await expect(late).rejects.toBeInstanceOf(TimeoutError);
    await expect(late).rejects.toThrow('reading the index: no answer within 10 ms');
  });
});
