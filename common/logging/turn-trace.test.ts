import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { traceTurn, TURN_TRACE_CHANNEL, type TurnMark } from './turn-trace';

describe('traceTurn', () => {
  it('publishes each hop with its keys and the monotonic time to whoever subscribes', () => {
    const marks: TurnMark[] = [];
    const record = (message: unknown) => marks.push(message as TurnMark);
    subscribe(TURN_TRACE_CHANNEL, record);
    try {
      const before = process.hrtime.bigint();
      traceTurn('chat.generation-started', 'generation-1', 'request-1');
      traceTurn('chat.recall-done', 'generation-1');
      const after = process.hrtime.bigint();
      expect(marks).toEqual([
        { hop: 'chat.generation-started', key: 'generation-1', linked: 'request-1', at: expect.any(BigInt) },
        { hop: 'chat.recall-done', key: 'generation-1', linked: undefined, at: expect.any(BigInt) },
      ]);
      for (const { at } of marks) expect(at >= before && at <= after).toBe(true);
    } finally {
      unsubscribe(TURN_TRACE_CHANNEL, record);
    }
  });
});
