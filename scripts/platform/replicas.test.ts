import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { postGraphQL } from '../../common/testing/graphql-client';
import { startTestReplicaSet, type TestReplicaSet } from '../../test/support/replica-set';
import type { ReplicaSet } from './replicas';
import { PLATFORM_SERVICES } from './services';

/** Two processes of each service behind HAProxy, run from source (no build), on the test stores. */
describe('the replica harness', () => {
  let started: TestReplicaSet;
  let replicas: ReplicaSet;
  let user: TestUser;
  const clients: Client[] = [];

  beforeAll(async () => {
    started = await startTestReplicaSet('replicas', { LOG_LEVEL: 'warn', OFFLINE_TOKEN_INTERVAL_MS: '5' });
    replicas = started.replicas;
    user = await registerUser(replicas);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await started?.stop();
  });

  /** How many operations a gateway process has served, from its own /metrics (not through HAProxy). */
  async function operationsServed(origin: string): Promise<number> {
    const text = await (await fetch(`${origin}/metrics`)).text();
    return [...text.matchAll(/^gateway_operations_total\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, [, n]) => sum + Number(n),
      0,
    );
  }

  const me = () =>
    postGraphQL<{ me: { id: string } }>(replicas.gatewayUrl, '{ me { id } }', {}, user.headers);

  /** Asks `me` ten times in a row; what answered and which gateway HAProxy sent each request to. */
  async function askRepeatedly() {
    const responses = [];
    for (let i = 0; i < 10; i += 1) responses.push(await me());
    return {
      answers: responses.map((response) => response.data),
      servedBy: new Set(responses.map((response) => response.headers.get('x-served-by'))),
    };
  }

  it('runs two processes of each service, every one up in HAProxy', async () => {
    expect(replicas.replicas.map((replica) => replica.name)).toEqual(
      PLATFORM_SERVICES.flatMap(({ name }) => [`${name}-1`, `${name}-2`]),
    );
    expect(new Set(replicas.replicas.map((replica) => replica.pid)).size).toBe(8);
    const status = await replicas.serverStatus();
    expect(Object.values(status)).toEqual(Array(8).fill('UP'));
  });

  it('answers queries through HAProxy from both gateway processes', async () => {
    const gateways = [replicas.replica('gateway', 1), replicas.replica('gateway', 2)];
    const before = await Promise.all(gateways.map((gateway) => operationsServed(gateway.origin)));
    const { answers, servedBy } = await askRepeatedly();

    expect(answers).toEqual(Array(10).fill({ me: { id: user.id } }));
    expect(servedBy).toEqual(new Set(['gateway-1', 'gateway-2']));
    const after = await Promise.all(gateways.map((gateway) => operationsServed(gateway.origin)));
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
  });

  it('streams a reply over a WebSocket subscription through HAProxy, joined with another subgraph', async () => {
    const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      replicas.gatewayUrl,
      'mutation ($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
      { content: 'Tell me about load balancers' },
      user.headers,
    );
    const generationId = sent.data?.sendMessage.generation.id;
    expect(generationId).toEqual(expect.any(String));

    const client = createClient({
      url: replicas.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.accessToken}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const events: { type: string; delta: string | null; message: { conversation: { title: string } } }[] = [];
    for await (const result of client.iterate<{ generation: (typeof events)[number] }>({
      query: `subscription ($id: ID!) {
        generation(id: $id) { type delta message { conversation { title } } }
      }`,
      variables: { id: generationId },
    })) {
      expect(result.errors).toBeUndefined();
      events.push(result.data!.generation);
    }

    expect(events.at(-1)?.type).toBe('DONE');
    const streamed = events.map((event) => (event.type === 'TOKEN' ? event.delta : '')).join('');
    const saved = await postGraphQL<{ generation: { message: { content: string } } }>(
      replicas.gatewayUrl,
      'query ($id: ID!) { generation(id: $id) { message { content } } }',
      { id: generationId },
      user.headers,
    );
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed).toBe(saved.data?.generation.message.content);
    expect(events[0].message.conversation.title).toEqual(expect.any(String));
  });

  /** Connections HAProxy has opened to each gateway process so far, from its stats (`stot`). */
  async function gatewaySessions(): Promise<Record<string, number>> {
    const [header, ...rows] = (await (await fetch(`${replicas.statsUrl};csv`)).text()).trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const [proxy, server, total] = ['pxname', 'svname', 'stot'].map((name) => columns.indexOf(name));
    return Object.fromEntries(
      rows
        .map((row) => row.split(','))
        .filter((cells) => cells[proxy] === 'gateway' && cells[server].startsWith('gateway-'))
        .map((cells) => [cells[server], Number(cells[total])]),
    );
  }

  it('balances WebSocket connections round-robin too: two clients, one on each gateway', async () => {
    const before = await gatewaySessions();
    const opened = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<Client>((resolve, reject) => {
            const client = createClient({
              url: replicas.gatewayUrl.replace(/^http/, 'ws'),
              webSocketImpl: WebSocket,
              connectionParams: { authorization: `Bearer ${user.accessToken}` },
              retryAttempts: 0,
              lazy: false,
              on: { connected: () => resolve(client), error: reject },
            });
            clients.push(client);
          }),
      ),
    );
    const after = await gatewaySessions();

    expect(opened).toHaveLength(2);
    expect(after['gateway-1'] - before['gateway-1']).toBe(1);
    expect(after['gateway-2'] - before['gateway-2']).toBe(1);
  });

  it('takes a killed replica out of HAProxy, serves on without it, and puts it back when restarted', async () => {
    const gateway2 = replicas.replica('gateway', 2);
    const killedPid = gateway2.pid;

    await replicas.kill(gateway2, 'SIGKILL');
    expect(gateway2.pid).toBeUndefined();
    await replicas.waitForStatus(gateway2, 'DOWN');
    const meanwhile = await askRepeatedly();
    expect(meanwhile.answers).toEqual(Array(10).fill({ me: { id: user.id } }));
    expect(meanwhile.servedBy).toEqual(new Set(['gateway-1']));

    await replicas.restart(gateway2);
    expect(gateway2.pid).toEqual(expect.any(Number));
    expect(gateway2.pid).not.toBe(killedPid);
    const after = await askRepeatedly();
    expect(after.answers).toEqual(Array(10).fill({ me: { id: user.id } }));
    expect(after.servedBy).toEqual(new Set(['gateway-1', 'gateway-2']));
  });
});
