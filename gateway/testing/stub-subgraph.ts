import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logging/logger';
import { testServers, TEST_IDENTITY_SECRET } from '../../common/testing/env';
import { findFreePort } from '../../common/util/free-port';
import { type RunningGateway, startGateway } from '../app';
import { loadGatewayConfig } from '../config';

/** What the stub subgraph answers to the next request, and what it received. */
export type StubAnswer = { status: number; body: unknown } | 'never';

export interface Stub {
  answer: StubAnswer;
  /** Answers to the next requests, one each, before `answer`. */
  next?: StubAnswer[];
  received: IncomingHttpHeaders[];
  /** The body of each request, when the test wants them (to check what the identity is bound to). */
  bodies?: string[];
}

export interface StubSubgraph {
  url: string;
  close: () => Promise<void>;
}

/**
 * A stand-in for a subgraph (auth, unless the gateway is told otherwise) that records each
 * request's headers and answers as told; on `port` when given (to start it again where it was).
 */
export async function startStubSubgraph(stub: Stub, port = 0): Promise<StubSubgraph> {
  const server = createServer((req, res) => {
    stub.received.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      stub.bodies?.push(Buffer.concat(chunks).toString('utf8'));
      const answer = stub.next?.shift() ?? stub.answer;
      if (answer === 'never') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The settings of a gateway whose auth subgraph is `authUrl` (the other subgraphs are
 * unreachable), its Redis keys under `namespace`; `env` adds to them.
 */
export async function gatewayInFrontEnv(
  authUrl: string,
  namespace: string,
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  const nowhere = `http://127.0.0.1:${await findFreePort()}/graphql`;
  return {
    NODE_ENV: 'test',
    IDENTITY_SECRET: TEST_IDENTITY_SECRET,
    REDIS_URL: testServers().redisUrl,
    REDIS_KEY_PREFIX: `${namespace}:gateway:`,
    SESSION_REVOCATION_PREFIX: `${namespace}:revoked-session:`,
    GATEWAY_PORT: '0',
    AUTH_URL: authUrl,
    CONVERSATION_URL: nowhere,
    CHAT_URL: nowhere,
    ...env,
  };
}

/** Such a gateway, in this process. */
export async function startGatewayInFront(
  authUrl: string,
  namespace: string,
  logger: Logger,
  env: Record<string, string> = {},
): Promise<RunningGateway> {
  return startGateway(loadGatewayConfig(await gatewayInFrontEnv(authUrl, namespace, env)), logger);
}
