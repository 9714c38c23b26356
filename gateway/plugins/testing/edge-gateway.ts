import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Logger } from '../../../common/logging/logger';
import { silentLogger } from '../../../common/testing/logger';
import type { TestPlatform } from '../../../test/support/platform';
import { type RunningGateway, startGateway } from '../../app';
import { loadGatewayConfig } from '../../config';

/** Resolves once the gateway's own Redis answers (/health/all), so that counting starts in Redis. */
async function untilRedisReady(gateway: RunningGateway, operatorToken?: string): Promise<void> {
  const healthUrl = new URL('/health/all', gateway.url);
  const headers: Record<string, string> = operatorToken ? { authorization: `Bearer ${operatorToken}` } : {};
  for (;;) {
    const report = (await (await fetch(healthUrl, { headers })).json()) as {
      components: Record<string, { status: string }>;
    };
    if (report.components['gateway.redis']?.status === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Another gateway in front of a test platform's subgraphs, with its own environment and its own
 * Redis keys (so its rate-limit budgets start full), for tests of one edge setting. Unless the
 * environment points it at another Redis, it resolves once its Redis connection is up: until
 * then the rate limiter counts in memory (its Redis-down fallback), which a test would see.
 */
export async function startGatewayOn(
  platform: TestPlatform,
  env: Record<string, string> = {},
  logger: Logger = silentLogger(),
): Promise<RunningGateway> {
  const gateway = await startGateway(
    loadGatewayConfig({
      ...platform.env,
      REDIS_KEY_PREFIX: `${platform.namespace}:gateway-${randomBytes(4).toString('hex')}:`,
      AUTH_URL: platform.subgraphs.auth.url,
      CONVERSATION_URL: platform.subgraphs.conversation.url,
      CHAT_URL: platform.subgraphs.chat.url,
      ...env,
    }),
    logger,
  );
  if (env.REDIS_URL === undefined) await untilRedisReady(gateway, env.OPERATOR_TOKEN);
  return gateway;
}

/** POSTs a raw body (or a batch) to a gateway, for what postGraphQL cannot express. */
export async function postRaw(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
}

/** What a subscription delivers first over graphql-ws: an event, or the errors it was refused with. */
export function firstResultOf(
  client: Client,
  query: string,
  extensions?: Record<string, unknown>,
): Promise<FormattedExecutionResult> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query, extensions },
      {
        next: resolve,
        error: (errors) => (Array.isArray(errors) ? resolve({ errors }) : reject(errors)),
        complete: () => resolve({}),
      },
    );
  });
}

/** A graphql-ws client of a gateway: anonymous, or signed in with an access token. */
export const webSocketClient = (gateway: RunningGateway, accessToken?: string): Client =>
  createClient({
    url: gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: accessToken ? { authorization: `Bearer ${accessToken}` } : undefined,
  });
