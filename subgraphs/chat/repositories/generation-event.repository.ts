import type { ClientContext, Redis, Result } from 'ioredis';
import { redisKeys } from '../store/redis-keys';
import {
  decodeEvent,
  encodeEvent,
  entryId,
  type GenerationEvent,
  GenerationEventType,
  isTerminal,
} from '../streams/generation-event';

export interface EventLogOptions {
  /** Stream length bound (XADD MAXLEN ~); the runner never writes more events than this. */
  maxLength: number;
  /** Expiry while a generation runs, so a stream nobody finishes cannot stay forever. */
  liveTtlSeconds: number;
  /** Expiry once the last event is written: how long a finished generation stays replayable. */
  finishedTtlSeconds: number;
}

/**
 * The append did not follow the stream: recovery fenced the generation (`fenced`), or the stream
 * ends elsewhere than expected, at `topSeq` with `topFields` (someone else wrote, it already
 * ended, or Redis lost entries it had acknowledged).
 */
export class EventLogConflict extends Error {
  override name = 'EventLogConflict';
  constructor(
    message: string,
    readonly fenced: boolean,
    readonly topSeq = 0,
    readonly topFields: string[] = [],
  ) {
    super(message);
  }
}

/** Whether two entries have the same fields, in order. */
export const sameFields = (a: string[], b: string[]) =>
  a.length === b.length && a.every((value, i) => value === b[i]);

/**
 * Appends a batch only if the stream ends exactly at `previousSeq` and that last event is not
 * terminal, so a generation never repeats a seq and never goes on after DONE, STOPPED or ERROR;
 * and only if recovery has not fenced the generation (KEYS[2]) unless ARGV[5] says this is
 * recovery's own append. The first field of every entry is its type (encodeEvent). Returns {1}
 * on success, {2} when fenced, else {0, topSeq, topFields}.
 */
const APPEND_SCRIPT = `
if ARGV[5] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local topSeq, topFields = 0, {}
if #top > 0 then
  topSeq = tonumber(string.match(top[1][1], '^(%d+)-'))
  topFields = top[1][2]
end
local topType = topFields[2]
local terminal = topType == 'DONE' or topType == 'STOPPED' or topType == 'ERROR'
if topSeq ~= tonumber(ARGV[1]) or terminal then return {0, topSeq, topFields} end
local i = 6
for _ = 1, tonumber(ARGV[4]) do
  local id, n = ARGV[i], tonumber(ARGV[i + 1])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id, unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1}
`;

type AppendReply = [1] | [2] | [0, number, string[]];

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    appendGenerationEvents(
      eventsKey: string,
      fenceKey: string,
      ...args: (string | number)[]
    ): Result<AppendReply, Context>;
  }
}

/** Each generation's events, in a Redis Stream of its own (wire format: docs/protocol.md). */
export class GenerationEventRepository {
  constructor(
    private readonly redis: Redis,
    private readonly options: EventLogOptions,
  ) {
    redis.defineCommand('appendGenerationEvents', { numberOfKeys: 2, lua: APPEND_SCRIPT });
  }

  /**
   * Appends `events` (consecutive seqs after `previousSeq`) atomically. START sets the live
   * expiry, a terminal event the finished one. Throws EventLogConflict if someone else wrote,
   * or if recovery fenced the generation (`asRecovery` is recovery writing past its own fence).
   */
  async append(
    generationId: string,
    previousSeq: number,
    events: GenerationEvent[],
    { asRecovery = false } = {},
  ): Promise<void> {
    const last = events[events.length - 1];
    const ttl = isTerminal(last)
      ? this.options.finishedTtlSeconds
      : events[0].type === GenerationEventType.START
        ? this.options.liveTtlSeconds
        : 0;
    const args: (string | number)[] = [
      previousSeq,
      this.options.maxLength,
      ttl,
      events.length,
      asRecovery ? '1' : '0',
    ];
    for (const event of events) {
      const fields = encodeEvent(event);
      args.push(entryId(event.seq), fields.length, ...fields);
    }
    const reply = await this.redis.appendGenerationEvents(
      redisKeys.events(generationId),
      redisKeys.fence(generationId),
      ...args,
    );
    if (reply[0] === 1) return;
    if (reply[0] === 2) throw new EventLogConflict(`generation ${generationId} was fenced by recovery`, true);
    const [, topSeq, topFields] = reply;
    // A retried append whose first try did go through (its reply was lost) finds itself on top.
    if (topSeq === last.seq && sameFields(topFields, encodeEvent(last))) return;
    throw new EventLogConflict(
      `generation ${generationId}: expected to append after seq ${previousSeq}, found ${topFields[1] ?? 'nothing'} at ${topSeq}`,
      false,
      topSeq,
      topFields,
    );
  }

  /**
   * Stops the generation's own process (if it is alive after all) from appending anything
   * more, so recovery can read the reply as final and save it before announcing the end.
   */
  async fence(generationId: string): Promise<void> {
    await this.redis.set(redisKeys.fence(generationId), '1', 'EX', this.options.liveTtlSeconds);
  }

  /** Events with `afterSeq < seq <= toSeq` (to the end when `toSeq` is omitted), in order. */
  async read(generationId: string, afterSeq: number, toSeq?: number): Promise<GenerationEvent[]> {
    const entries = await this.redis.xrange(
      redisKeys.events(generationId),
      entryId(afterSeq + 1),
      toSeq === undefined ? '+' : entryId(toSeq),
    );
    return entries.map(([id, fields]) => decodeEvent(id, fields));
  }

  /** The newest event, or null when the stream is empty or gone. */
  async last(generationId: string): Promise<GenerationEvent | null> {
    const [entry] = await this.redis.xrevrange(redisKeys.events(generationId), '+', '-', 'COUNT', 1);
    return entry ? decodeEvent(entry[0], entry[1]) : null;
  }

  /** The reply as far as it was streamed, or null when the stream has expired. */
  async replyText(generationId: string): Promise<string | null> {
    const events = await this.read(generationId, 0);
    if (events.length === 0) return null;
    return events.map((event) => (event.type === GenerationEventType.TOKEN ? event.delta : '')).join('');
  }
}
