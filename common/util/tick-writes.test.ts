import { Writable } from 'node:stream';
import { coalesceTickWrites, tickCorker } from './tick-writes';

/** A stream that records each system call it would make: one entry per write or writev. */
function recordingStream() {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      calls.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      calls.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { stream, calls };
}

const tickEnds = () => new Promise((resolve) => setImmediate(resolve));

describe('writes coalesced per tick', () => {
  it('sends what one tick writes in one writev, in order, once the tick is done', async () => {
    const { stream, calls } = recordingStream();
    coalesceTickWrites(stream);

    stream.write('GET a');
    stream.write('GET b');
    expect(calls).toEqual([]);
    await Promise.resolve();
    stream.write('GET c');
    await tickEnds();

    expect(calls).toEqual([['GET a', 'GET b', 'GET c']]);
  });

  it('never holds a write past its tick: writes of later ticks leave on their own', async () => {
    const { stream, calls } = recordingStream();
    coalesceTickWrites(stream);

    stream.write('one');
    await tickEnds();
    stream.write('two');
    await tickEnds();

    expect(calls).toEqual([['one'], ['two']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('keeps write’s callback and its answer', async () => {
    const { stream } = recordingStream();
    coalesceTickWrites(stream);
    const written = new Promise<Error | null | undefined>((resolve) => stream.write('x', resolve));
    expect(stream.write('y')).toBe(true);
    await expect(written).resolves.toBeFalsy();
  });

  it('leaves a stream that can no longer be written alone: the write fails as it would', async () => {
    const { stream } = recordingStream();
    coalesceTickWrites(stream);
    stream.end();
    const failed = new Promise<Error | null | undefined>((resolve) => {
      stream.on('error', () => undefined);
      stream.write('late', resolve);
    });
    expect(stream.writableCorked).toBe(0);
    await expect(failed).resolves.toMatchObject({ code: 'ERR_STREAM_WRITE_AFTER_END' });
  });

  it('corks once per tick however often it is asked', async () => {
    const { stream } = recordingStream();
    const corkForTick = tickCorker(stream);
    corkForTick();
    corkForTick();
    expect(stream.writableCorked).toBe(1);
    await tickEnds();
    expect(stream.writableCorked).toBe(0);
    corkForTick();
    expect(stream.writableCorked).toBe(1);
    await tickEnds();
    expect(stream.writableCorked).toBe(0);
  });
});
