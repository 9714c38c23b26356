import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MessageType, parseMessage, stringifyMessage } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { tickCorker } from '../common/util/tick-writes';

/*
 * The least CPU a Node.js process can spend relaying one subscription event over WebSockets, the
 * floor under any gateway's µs per token (docs/performance.md, "Eighteenth round"). Three
 * processes, as in `npm run bench:subscriptions` at its first level: an upstream server (the chat
 * subgraph's place) sends `--streams` streams' events over two sockets at `--interval-ms` apart;
 * the relay (the gateway's place) takes each event off an upstream socket, parses it, renames its
 * subscription id and writes it to the client socket that subscribed to it; the clients (ten
 * streams to a socket) count what arrives. Nothing else: no GraphQL, no auth, no limits, no queue.
 * The relay's CPU (process.cpuUsage(): every thread, the compiler's and the collector's included)
 * over the measured rounds, per event, for each way of relaying:
 *
 * - `json`: JSON.parse and JSON.stringify, one `ws` send per event;
 * - `json, corked`: the same, with each client socket corked for the tick (as this gateway's are);
 * - `graphql-ws messages, corked`: graphql-ws's own parseMessage/stringifyMessage (which validate
 *   each message, as its client and server do), corked.
 */

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    streams: { type: 'string', default: '100' },
    tokens: { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '50' },
    'per-socket': { type: 'string', default: '10' },
    'warmup-rounds': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
  },
});

const UPSTREAM_SOCKETS = 2;
const MODES = ['json', 'json, corked', 'graphql-ws messages, corked'] as const;
type Mode = (typeof MODES)[number];

type Command =
  | { kind: 'start'; upstreamPort?: number; relayPort?: number; mode?: Mode }
  | { kind: 'round' }
  | { kind: 'cpu' };

/** The upstream server: each subscriber's events, every stream's next one at the same tick. */
async function upstream() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const subscriptions: { socket: WebSocket; id: string }[] = [];
  server.on('connection', (socket) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id: string; type: string };
      if (message.type === 'subscribe') subscriptions.push({ socket, id: message.id });
    }),
  );
  const round = async () => {
    // The clients' subscriptions reach here through the relay: every one is in before a round starts.
    while (subscriptions.length < Number(args.streams)) await pause(10);
    for (let seq = 1; seq <= Number(args.tokens); seq++) {
      for (const { socket, id } of subscriptions) {
        const delta = ` ${Date.now()}.${seq}`;
        socket.send(
          JSON.stringify({
            id,
            type: 'next',
            payload: { data: { generation: { seq, type: 'TOKEN', delta } } },
          }),
        );
      }
      await pause(Number(args['interval-ms']));
    }
  };
  return { port: (server.address() as AddressInfo).port, round };
}

/** The relay: each upstream event to the client socket, under the id, that subscribed to it. */
async function relay(upstreamPort: number, mode: Mode) {
  const corked = mode !== 'json';
  const upstreams = await Promise.all(
    Array.from({ length: UPSTREAM_SOCKETS }, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${upstreamPort}`);
      await once(socket, 'open');
      return socket;
    }),
  );
  const routes = new Map<string, { send: (text: string) => void; id: string }>();
  let next = 0;
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (client) => {
    // ws keeps its TCP socket private; the gateway corks the same one (common/server/coalesced-writes.ts).
    const cork = tickCorker((client as unknown as { _socket: Socket })._socket);
    const send = corked
      ? (text: string) => {
          cork();
          client.send(text);
        }
      : (text: string) => client.send(text);
    client.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id: string };
      const upstreamId = String(next++);
      routes.set(upstreamId, { send, id: message.id });
      upstreams[next % UPSTREAM_SOCKETS].send(JSON.stringify({ id: upstreamId, type: 'subscribe' }));
    });
  });
  for (const socket of upstreams) {
    socket.on('message', (data) => {
      if (mode === 'graphql-ws messages, corked') {
        const message = parseMessage(String(data));
        if (message.type !== MessageType.Next) return;
        const route = routes.get(message.id);
        route?.send(stringifyMessage({ id: route.id, type: MessageType.Next, payload: message.payload }));
      } else {
        const message = JSON.parse(String(data)) as { id: string; payload: unknown };
        const route = routes.get(message.id);
        route?.send(JSON.stringify({ id: route.id, type: 'next', payload: message.payload }));
      }
    });
  }
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** The clients: `--per-socket` subscriptions a socket; resolves a round once every event arrived. */
async function clients(relayPort: number) {
  const streams = Number(args.streams);
  const perSocket = Number(args['per-socket']);
  let received = 0;
  let waiting: { count: number; resolve: () => void } | undefined;
  for (let opened = 0; opened < streams; opened += perSocket) {
    const socket = new WebSocket(`ws://127.0.0.1:${relayPort}`);
    await once(socket, 'open');
    socket.on('message', () => {
      received++;
      if (waiting && received >= waiting.count) waiting.resolve();
    });
    for (let i = 0; i < Math.min(perSocket, streams - opened); i++)
      socket.send(JSON.stringify({ id: String(opened + i), type: 'subscribe' }));
  }
  // A round's first events may arrive before its command does: count against every round's total.
  let expected = 0;
  return (count: number) =>
    new Promise<void>((resolve) => {
      expected += count;
      waiting = { count: expected, resolve };
      if (received >= expected) resolve();
    });
}

/** A child's side: answers the parent's commands over IPC. */
async function child(role: string) {
  let upstreamServer: Awaited<ReturnType<typeof upstream>> | undefined;
  let roundDone: ((count: number) => Promise<void>) | undefined;
  // Ends with the parent, however the parent ends: the sockets would keep this process alive.
  process.on('disconnect', () => process.exit());
  process.on('message', async (command: Command) => {
    if (command.kind === 'start') {
      if (role === 'upstream') {
        upstreamServer = await upstream();
        process.send?.({ port: upstreamServer.port });
      } else if (role === 'relay') {
        process.send?.({ port: await relay(command.upstreamPort as number, command.mode as Mode) });
      } else {
        roundDone = await clients(command.relayPort as number);
        process.send?.({});
      }
    } else if (command.kind === 'round') {
      if (upstreamServer) await upstreamServer.round();
      else await roundDone?.(Number(args.streams) * Number(args.tokens));
      process.send?.({});
    } else process.send?.({ cpu: process.cpuUsage() });
  });
}

function ask<T>(worker: ChildProcess, command: Command): Promise<T> {
  const answer = once(worker, 'message') as Promise<[T]>;
  worker.send(command);
  return answer.then(([value]) => value);
}

/** The relay's CPU µs per event over the measured rounds, relaying the way `mode` says. */
async function measure(mode: Mode): Promise<number> {
  const start = (role: string) =>
    fork(__filename, [role, ...process.argv.slice(2)], { execArgv: process.execArgv });
  const [up, relayProcess, down] = [start('upstream'), start('relay'), start('clients')];
  try {
    const { port: upstreamPort } = await ask<{ port: number }>(up, { kind: 'start' });
    const { port: relayPort } = await ask<{ port: number }>(relayProcess, {
      kind: 'start',
      upstreamPort,
      mode,
    });
    await ask(down, { kind: 'start', relayPort });
    const round = () => Promise.all([ask(up, { kind: 'round' }), ask(down, { kind: 'round' })]);
    for (let i = 0; i < Number(args['warmup-rounds']); i++) await round();
    const before = (await ask<{ cpu: NodeJS.CpuUsage }>(relayProcess, { kind: 'cpu' })).cpu;
    for (let i = 0; i < Number(args.rounds); i++) await round();
    const after = (await ask<{ cpu: NodeJS.CpuUsage }>(relayProcess, { kind: 'cpu' })).cpu;
    const events = Number(args.rounds) * Number(args.streams) * Number(args.tokens);
    const micros = after.user - before.user + after.system - before.system;
    return micros / events;
  } finally {
    for (const worker of [up, relayProcess, down]) worker.kill();
  }
}

async function main() {
  console.log(
    `Relaying ${args.streams} streams × ${args.tokens} events, one every ${args['interval-ms']} ms, ` +
      `${args['per-socket']} to a client socket; ${args['warmup-rounds']} rounds of warm-up, ${args.rounds} measured; Node ${process.version}\n`,
  );
  console.log('| relay | CPU µs per event |\n| --- | ---: |');
  for (const mode of MODES) {
    console.log(`| ${mode} | ${(await measure(mode)).toFixed(1)} |`);
  }
}

if (positionals[0]) void child(positionals[0]);
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
