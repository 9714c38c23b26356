import { rm } from 'node:fs/promises';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { type OwnStore, startOwnRedis } from '../support/own-stores';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { EVENT_STORE_LOST_MESSAGE } from '../../subgraphs/chat/generation/generation-runner';
import {
  countOf,
  follow,
  followUntilTheEnd,
  replyEvents,
  type Subscriber,
  TERMINAL_TYPES,
  textOf,
} from './support/followers';
import { savedGeneration, sendMessage } from './support/replies';

/*
 * Redis (the chat subgraph's own, started here) killed by pid while a reply streams, with and
 * without its data, through the gateway over graphql-ws and SSE. The bounds are docs/protocol.md's
 * ("Liveness"), at their defaults: a subscription ends within STREAM_STALL_TIMEOUT_MS +
 * HEARTBEAT_INTERVAL_MS (12 s) of its last sign of life; an outage shorter than the lease (3 s)
 * costs nothing; a longer one ends the reply INTERRUPTED, saved as streamed.
 */

const SUBSCRIPTION_ENDS_WITHIN_MS = 10_000 + 2_000;
/** For a machine that other test runs keep busy: the bound is checked, not the machine's speed. */
const MARGIN_MS = 3_000;

describe('a Redis outage while a reply streams', () => {
  let redis: OwnStore;
  let platform: TestPlatform;
  let user: TestUser;

  beforeAll(async () => {
    // With its append-only file, fsync'd every second, as deployed (redis.conf).
    redis = await startOwnRedis();
    platform = await startTestPlatform('fault_redis', {
      // About eight seconds of reply at this pace: room to kill Redis in the middle.
      env: { OFFLINE_TOKEN_INTERVAL_MS: '150' },
      serviceEnv: { chat: { REDIS_URL: redis.url } },
    });
    user = await registerUser(platform);
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    await redis?.dispose();
  });

  const send = (content: string) => sendMessage(platform.gatewayUrl, user, content);
  const saved = (id: string) => savedGeneration(platform.gatewayUrl, user, id);
  /** Once a few tokens have streamed to every subscriber. */
  const midReply = (subscribers: Subscriber[]) =>
    Promise.all(subscribers.map((s) => s.until((events) => countOf(events, 'TOKEN') >= 5)));
  const codesOf = (subscribers: Subscriber[]) =>
    subscribers.flatMap((s) => s.endings.flatMap((e) => e.codes));

  it('killed without its data and back at once: the reply goes on to DONE, nothing lost', async () => {
    const id = await send('Tell me about lighthouses, at some length');
    const subscribers = [follow('ws', platform.gatewayUrl, user.accessToken, id)];
    subscribers.push(follow('sse', platform.gatewayUrl, user.accessToken, id));
    await midReply(subscribers);

    await redis.kill();
    await rm(redis.dataDir, { recursive: true, force: true });
    await redis.start();

    await Promise.all(subscribers.map((s) => s.done));
    const generation = await saved(id);
    expect(generation).toMatchObject({ status: 'COMPLETE', message: { status: 'COMPLETE' } });
    for (const subscriber of subscribers) {
      const events = replyEvents(subscriber.events);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.type).toBe('DONE');
      expect(textOf(subscriber.events)).toBe(generation.message.content);
    }
    expect(codesOf(subscribers)).toEqual([]);
  }, 60_000);

  it.each([
    ['without its data', true],
    ['with its append-only file', false],
  ])(
    'killed %s for longer than the lease: subscribers end within the bound, the reply ends INTERRUPTED as streamed',
    async (_, loseData) => {
      const id = await send('Describe the tides, in some detail');
      const once = [
        follow('ws', platform.gatewayUrl, user.accessToken, id),
        follow('sse', platform.gatewayUrl, user.accessToken, id),
      ];
      const resuming = followUntilTheEnd('ws', platform.gatewayUrl, user.accessToken, id);
      await midReply([...once, resuming]);

      const killedAt = Date.now();
      await redis.kill();
      // Every subscriber hears of it while Redis is still away: none waits forever.
      await Promise.all(once.map((s) => s.done));
      for (const subscriber of once) {
        const ending = subscriber.endings[0];
        expect(ending).toMatchObject({ codes: ['UPSTREAM_UNAVAILABLE'], dependency: 'redis' });
        expect(ending.at - killedAt).toBeLessThanOrEqual(SUBSCRIPTION_ENDS_WITHIN_MS + MARGIN_MS);
      }
      if (loseData) await rm(redis.dataDir, { recursive: true, force: true });
      await redis.start();

      // A client that resumes reads the end the process wrote back once Redis returned.
      await resuming.done;
      const last = replyEvents(resuming.events).at(-1);
      expect(last).toMatchObject({
        type: 'ERROR',
        error: EVENT_STORE_LOST_MESSAGE,
        generation: { status: 'INTERRUPTED' },
      });
      const generation = await saved(id);
      expect(generation).toMatchObject({
        status: 'INTERRUPTED',
        error: EVENT_STORE_LOST_MESSAGE,
        usage: { completionTokens: expect.any(Number) },
        message: { status: 'INTERRUPTED' },
      });
      // Saved is streamed: what the resuming client read, and a prefix of it for the others.
      expect(textOf(resuming.events)).toBe(generation.message.content);
      for (const subscriber of once)
        expect(generation.message.content.startsWith(textOf(subscriber.events))).toBe(true);
      // The stream itself was written back: a late subscriber replays the same reply.
      const replay = follow('sse', platform.gatewayUrl, user.accessToken, id);
      await replay.done;
      expect(textOf(replay.events)).toBe(generation.message.content);
      expect(replyEvents(replay.events).some((event) => TERMINAL_TYPES.has(event.type))).toBe(true);
      expect(codesOf([...once, resuming, replay]).filter((code) => code !== 'UPSTREAM_UNAVAILABLE')).toEqual(
        [],
      );
    },
    90_000,
  );
});
