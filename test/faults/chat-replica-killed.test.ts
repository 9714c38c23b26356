import { registerUser, type TestUser } from '../../common/testing/auth';
import { silentLogger } from '../../common/testing/logger';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { type RunningGateway, startGateway } from '../../gateway/app';
import { loadGatewayConfig } from '../../gateway/config';
import { INTERRUPTED_MESSAGE } from '../../subgraphs/chat/jobs/generation-recovery';
import { type ChatChild, startChatChild } from '../../subgraphs/chat/testing/child-process';
import { countOf, follow, replyEvents, textOf } from './support/followers';
import { savedGeneration, sendMessage } from './support/replies';

/*
 * Two gateways, two chat replicas: the reply runs on a chat process of its own, reached through
 * the second gateway, and is followed through the first gateway (served by the other replica).
 * That process is killed by pid mid-reply. docs/protocol.md ("Liveness") bounds the takeover at
 * GENERATION_LEASE_MS + RECOVERY_INTERVAL_MS plus the save (3.5 s at the defaults used here), under 5 s.
 */

const TAKEOVER_WITHIN_MS = 5_000;

describe('the chat process writing a reply is killed', () => {
  let platform: TestPlatform;
  let writer: ChatChild;
  let writerGateway: RunningGateway;
  let user: TestUser;

  beforeAll(async () => {
    // GENERATION_LEASE_MS, RECOVERY_INTERVAL_MS and HEARTBEAT_INTERVAL_MS keep their defaults.
    platform = await startTestPlatform('fault_chat');
    const { auth, conversation } = platform.subgraphs;
    writer = await startChatChild({
      ...platform.env,
      REDIS_KEY_PREFIX: `${platform.namespace}:chat:`,
      CONVERSATION_URL: conversation.url,
      // Slower than a heartbeat interval: subscribers hear heartbeats between tokens.
      OFFLINE_TOKEN_INTERVAL_MS: '2500',
    });
    writerGateway = await startGateway(
      loadGatewayConfig({
        ...platform.env,
        REDIS_KEY_PREFIX: `${platform.namespace}:gateway:`,
        AUTH_URL: auth.url,
        CONVERSATION_URL: conversation.url,
        CHAT_URL: writer.url,
      }),
      silentLogger(),
    );
    user = await registerUser(platform);
  }, 60_000);
  afterAll(async () => {
    await writerGateway?.stop();
    await writer?.crash();
    await platform?.stop();
  });

  it('is taken over within 5 s: every follower on the other gateway gets the ERROR, and the saved reply is what streamed', async () => {
    const id = await sendMessage(writerGateway.url, user, 'Take your time with this one');
    const followers = [
      follow('ws', platform.gatewayUrl, user.accessToken, id),
      follow('sse', platform.gatewayUrl, user.accessToken, id),
    ];
    // Alive and quiet between tokens: heartbeats, from the replica serving the subscription.
    await Promise.all(
      followers.map((f) =>
        f.until((events) => countOf(events, 'TOKEN') >= 2 && countOf(events, 'HEARTBEAT') >= 1),
      ),
    );

    const killedAt = Date.now();
    await writer.crash();
    await Promise.all(followers.map((f) => f.done));

    const generation = await savedGeneration(platform.gatewayUrl, user, id);
    expect(generation.status).toBe('INTERRUPTED');
    for (const follower of followers) {
      const last = replyEvents(follower.events).at(-1);
      expect(last).toMatchObject({
        type: 'ERROR',
        error: INTERRUPTED_MESSAGE,
        generation: { status: 'INTERRUPTED' },
      });
      expect(follower.endings).toEqual([{ at: expect.any(Number), codes: [] }]);
      expect(textOf(follower.events)).toBe(generation.message.content);
      const takeoverMs = (last?.at ?? Infinity) - killedAt;
      // The measurement is part of what this test reports (the bound below is the documented one).
      // eslint-disable-next-line no-console
      console.info(`takeover seen by the ${follower.transport} follower ${takeoverMs} ms after the kill`);
      expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_WITHIN_MS);
    }
  }, 90_000);
});
