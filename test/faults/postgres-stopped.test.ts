import type { RunningSubgraph } from '../../common/server/subgraph-server';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { silentLogger } from '../../common/testing/logger';
import { type OwnStore, startOwnPostgres } from '../support/own-stores';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { startChatSubgraph } from '../../subgraphs/chat/app';
import { loadChatConfig } from '../../subgraphs/chat/config';
import { callAs } from '../../subgraphs/chat/testing/subgraph-client';
import {
  countOf,
  follow,
  followUntilTheEnd,
  type ReceivedEvent,
  replyEvents,
  textOf,
} from './support/followers';
import { savedGeneration, sendMessage } from './support/replies';

/*
 * PostgreSQL (the platform's own, started here) frozen by pid (SIGSTOP to its process group) while
 * a reply finishes: the conversation subgraph cannot save it. docs/protocol.md ("Liveness"): DONE
 * only after the save, heartbeats at least every HEARTBEAT_INTERVAL_MS × 1.5 (3 s) meanwhile, and
 * past FINAL_SAVE_DEADLINE_MS the subscribers are let go with UPSTREAM_UNAVAILABLE (conversation)
 * until recovery saves the reply.
 */

const FROZEN_MS = 20_000;
const HEARTBEAT_GAP_MS = 3_000;
const SHORT_DEADLINE_MS = 2_000;
/** For a machine that other test runs keep busy: the bound is checked, not the machine's speed. */
const MARGIN_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lastToken = (events: ReceivedEvent[]) => events.filter((event) => event.type === 'TOKEN').at(-1);

describe('PostgreSQL stopped while a reply ends', () => {
  let postgres: OwnStore;
  let platform: TestPlatform;
  let user: TestUser;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    platform = await startTestPlatform('fault_postgres', {
      // About eight seconds of reply: PostgreSQL stops while it still streams, so its save must wait.
      env: { DATABASE_URL: postgres.url, OFFLINE_TOKEN_INTERVAL_MS: '150' },
    });
    user = await registerUser(platform);
  }, 120_000);
  afterAll(async () => {
    postgres?.thaw();
    await platform?.stop();
    await postgres?.dispose();
  });

  const saved = (id: string) => savedGeneration(platform.gatewayUrl, user, id);

  it('for 20 s: DONE comes only after the save, with heartbeats meanwhile', async () => {
    const id = await sendMessage(platform.gatewayUrl, user, 'Wait for the database, please');
    const followers = [
      follow('ws', platform.gatewayUrl, user.accessToken, id),
      follow('sse', platform.gatewayUrl, user.accessToken, id),
    ];
    await Promise.all(followers.map((f) => f.until((events) => countOf(events, 'TOKEN') >= 3)));

    postgres.freeze();
    await sleep(FROZEN_MS);
    const thawedAt = Date.now();
    postgres.thaw();
    await Promise.all(followers.map((f) => f.done));

    const generation = await saved(id);
    expect(generation).toMatchObject({ status: 'COMPLETE', message: { status: 'COMPLETE' } });
    for (const follower of followers) {
      const events = replyEvents(follower.events);
      expect(events.map((event) => event.type).slice(-2)).toEqual(['USAGE', 'DONE']);
      expect(events.at(-1)?.at).toBeGreaterThanOrEqual(thawedAt);
      expect(textOf(follower.events)).toBe(generation.message.content);
      // From the last token to DONE, the reply was waiting for its save: never silent for long.
      const streamedAt = lastToken(events)?.at ?? 0;
      const waiting = follower.events.filter((event) => event.at >= streamedAt);
      const waitedMs = (events.at(-1)?.at ?? 0) - streamedAt;
      expect(countOf(waiting, 'HEARTBEAT')).toBeGreaterThanOrEqual(
        Math.floor(waitedMs / HEARTBEAT_GAP_MS) - 1,
      );
      const gaps = waiting.slice(1).map((event, i) => event.at - waiting[i].at);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(HEARTBEAT_GAP_MS + MARGIN_MS);
      expect(follower.endings).toEqual([{ at: expect.any(Number), codes: [] }]);
    }
  }, 120_000);

  describe('past the save deadline', () => {
    let impatient: RunningSubgraph;

    beforeAll(async () => {
      // Another chat replica, whose replies give up on their save after two seconds.
      impatient = await startChatSubgraph(
        loadChatConfig({
          ...platform.env,
          REDIS_KEY_PREFIX: `${platform.namespace}:chat:`,
          CONVERSATION_URL: platform.subgraphs.conversation.url,
          FINAL_SAVE_DEADLINE_MS: String(SHORT_DEADLINE_MS),
        }),
        silentLogger(),
      );
    });
    afterAll(() => impatient?.stop());

    it('its subscribers are let go with UPSTREAM_UNAVAILABLE, and recovery saves and ends it once PostgreSQL is back', async () => {
      const sent = await callAs<{ sendMessage: { generation: { id: string } } }>(
        impatient.url,
        user.id,
        'mutation { sendMessage(input: { content: "Save me later" }) { generation { id } } }',
        {},
      );
      const id = (sent.data as { sendMessage: { generation: { id: string } } }).sendMessage.generation.id;
      const client = followUntilTheEnd('ws', platform.gatewayUrl, user.accessToken, id);
      await client.until((events) => countOf(events, 'TOKEN') >= 3);

      postgres.freeze();
      await client.until(() => client.endings.length > 0);
      const [letGo] = client.endings;
      expect(letGo).toMatchObject({ codes: ['UPSTREAM_UNAVAILABLE'], dependency: 'conversation' });
      const streamedUntil = lastToken(client.events)?.at ?? 0;
      expect(letGo.at - streamedUntil).toBeLessThanOrEqual(SHORT_DEADLINE_MS + 1_000 + MARGIN_MS);
      postgres.thaw();

      await client.done;
      const events = replyEvents(client.events);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.map((event) => event.type).slice(-2)).toEqual(['USAGE', 'DONE']);
      const generation = await saved(id);
      expect(generation).toMatchObject({
        status: 'COMPLETE',
        usage: { completionTokens: expect.any(Number) },
        message: { status: 'COMPLETE' },
      });
      expect(textOf(client.events)).toBe(generation.message.content);
      expect(
        client.endings.flatMap((ending) => ending.codes).filter((code) => code !== 'UPSTREAM_UNAVAILABLE'),
      ).toEqual([]);
    }, 120_000);
  });
});
