import { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { UNTITLED_CONVERSATION } from '../../subgraphs/chat/records/message.record';
import { redisKeys } from '../../subgraphs/chat/store/redis-keys';
import type { CpuWindow } from './process-usage';

const POLL_MS = 100;
const QUIET_SAMPLE_MS = 300;
/** Two clock ticks of /proc's 10 ms: a sample this close to the idle figure is noise. */
const QUIET_SLACK_SECONDS = 0.02;
const QUIET_TIMEOUT_MS = 10_000;

/** Work a turn leaves behind after its client has seen DONE, as counted in the platform's stores. */
export interface PendingWork {
  /** Search outbox entries not yet applied to Chroma. */
  outbox: number;
  /** Replies not yet saved in their final state. */
  streaming: number;
  /** Conversations of these turns not yet named by their first exchange. */
  untitled: number;
  /** Generations not yet settled in chat's Redis (the last step after the final events). */
  unsettled: number;
}

export interface SavedReply {
  content: string;
  status: string;
}

/**
 * Reads what the services wrote, straight from the benchmark's own PostgreSQL and Redis (read
 * only): whether a level's turns are finished everywhere (reply saved, conversation titled,
 * message indexed through the outbox, generation settled), and the saved replies to compare
 * with what the clients received.
 */
export class TurnAftermath {
  private constructor(
    private readonly pg: Client,
    private readonly redis: Redis,
    private readonly schema: string,
    private readonly unsettledKey: string,
  ) {}

  static async open(options: {
    databaseUrl: string;
    redisUrl: string;
    conversationSchema: string;
    chatKeyPrefix: string;
  }): Promise<TurnAftermath> {
    const pg = new Client({ connectionString: options.databaseUrl });
    await pg.connect();
    const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    return new TurnAftermath(
      pg,
      redis,
      pg.escapeIdentifier(options.conversationSchema),
      `${options.chatKeyPrefix}${redisKeys.unsettled}`,
    );
  }

  async pending(conversationIds: string[]): Promise<PendingWork> {
    const [{ rows }, unsettled] = await Promise.all([
      this.pg.query<{ outbox: number; streaming: number; untitled: number }>(
        `select (select count(*) from ${this.schema}.search_outbox)::int as outbox,
                (select count(*) from ${this.schema}.messages
                  where conversation_id = any($1::uuid[]) and status = 'STREAMING')::int as streaming,
                (select count(*) from ${this.schema}.conversations
                  where id = any($1::uuid[]) and title = $2)::int as untitled`,
        [conversationIds, UNTITLED_CONVERSATION],
      ),
      this.redis.zcard(this.unsettledKey),
    ]);
    return { ...rows[0], unsettled };
  }

  /** Polls until nothing is pending for these conversations; what was still pending at the deadline otherwise. */
  async waitUntilDone(conversationIds: string[], timeoutMs: number): Promise<PendingWork | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const work = await this.pending(conversationIds);
      if (Object.values(work).every((count) => count === 0)) return undefined;
      if (performance.now() > deadline) return work;
      await delay(POLL_MS);
    }
  }

  /** The assistant replies saved in these conversations, oldest first, by conversation id. */
  async savedReplies(conversationIds: string[]): Promise<Map<string, SavedReply[]>> {
    const { rows } = await this.pg.query<{ conversation_id: string; content: string; status: string }>(
      `select conversation_id, content, status from ${this.schema}.messages
        where conversation_id = any($1::uuid[]) and role = 'ASSISTANT'
        order by created_at, id`,
      [[...new Set(conversationIds)]],
    );
    const replies = new Map<string, SavedReply[]>();
    for (const row of rows) {
      const saved = replies.get(row.conversation_id) ?? [];
      saved.push({ content: row.content, status: row.status });
      replies.set(row.conversation_id, saved);
    }
    return replies;
  }

  async close(): Promise<void> {
    await this.pg.end();
    this.redis.disconnect();
  }
}

/**
 * Takes QUIET_SAMPLE_MS samples of the watched processes' CPU (their sum, in seconds) until
 * `enough(sample, previous)` holds or QUIET_TIMEOUT_MS pass; resolves whether it held.
 */
async function sampleUntil(
  window: CpuWindow,
  enough: (sample: number, previous: number) => boolean,
): Promise<boolean> {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const deadline = performance.now() + QUIET_TIMEOUT_MS;
  let total = sum(window.elapsed().cpuSeconds);
  let previous = Infinity;
  while (performance.now() < deadline) {
    await delay(QUIET_SAMPLE_MS);
    const now = sum(window.elapsed().cpuSeconds);
    const sample = now - total;
    if (enough(sample, previous)) return true;
    [total, previous] = [now, sample];
  }
  return false;
}

/**
 * Waits until the watched processes are back to idle: a sample of QUIET_SAMPLE_MS in which they
 * used, together, no more than their idle rate (CPU seconds per second, measured beforehand)
 * allows, give or take two clock ticks. Work that runs on after the stores say a turn is done
 * (Chroma compacting what it was given, PostgreSQL writing out) lands in the window this way.
 * Resolves false if they never were quiet within QUIET_TIMEOUT_MS.
 */
export function waitForQuiet(window: CpuWindow, idleCpuPerSecond: number): Promise<boolean> {
  return sampleUntil(
    window,
    (sample) => sample <= idleCpuPerSecond * (QUIET_SAMPLE_MS / 1000) + QUIET_SLACK_SECONDS,
  );
}

/**
 * Waits until the watched processes' CPU has stopped falling (a sample no lower than the one
 * before, give or take two clock ticks): whatever earlier work left running has ended, and what
 * remains is their idle rate, whatever that is (a CPU profiler's sampling included).
 */
export function waitUntilSettled(window: CpuWindow): Promise<boolean> {
  return sampleUntil(window, (sample, previous) => sample >= previous - QUIET_SLACK_SECONDS);
}
