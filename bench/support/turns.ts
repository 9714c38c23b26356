import type { Client } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { operationText, requestBody } from '../../clients/chat-client/operation';
import { ChatDocument, GenerationEventsDocument, SendMessageDocument } from '../../clients/generated/graphql';
import { REQUEST_ID_HEADER } from '../../common/server/request-id';
import { bearer, registerUser } from '../../common/testing/auth';
import { type Arrival, connect, type Followed, follow } from './streams';

/** A registered user of the benchmark, with its access token. */
export interface BenchUser {
  id: string;
  accessToken: string;
}

/** A user ready to take turns: its own graphql-ws connection to the gateway, as a client app has. */
export interface ConnectedUser extends BenchUser {
  socket: Client;
}

/** One turn as the client saw it; times are performance.now() in this process. */
export interface TurnRecord {
  /** When the turn was due: its latencies count from here, so a late client start shows as latency too. */
  dueAt: number;
  /** The x-request-id sendMessage went with (the turn trace follows it through the gateway and chat); a `chat` turn's is the gateway's own. */
  requestId?: string;
  generationId?: string;
  conversationId?: string;
  /** When the send was answered: sendMessage's answer, or the first event of `Subscription.chat`. */
  sentAt?: number;
  events: Arrival[];
  ended: 'complete' | 'error' | 'timeout' | 'send-failed';
  error?: string;
}

const SEND_TIMEOUT_MS = 120_000;
const FOLLOW_TIMEOUT_MS = 300_000;
const REGISTER_CONCURRENCY = 8;
const GENERATION_EVENTS = operationText(GenerationEventsDocument).query;
const CHAT = operationText(ChatDocument).query;

/** The users, registered through the gateway a few at a time (not measured). */
export async function registerUsers(gatewayUrl: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const user = await registerUser({ gatewayUrl }, { displayName: `Bench user ${i + 1}` });
      users.push({ id: user.id, accessToken: user.accessToken });
    }
  };
  await Promise.all(Array.from({ length: Math.min(REGISTER_CONCURRENCY, count) }, worker));
  return users;
}

/** Opens one gateway WebSocket per user, each authenticated in connection_init. */
export async function connectUsers(gatewayUrl: string, users: BenchUser[]): Promise<ConnectedUser[]> {
  return Promise.all(
    users.map(async (user) => {
      const [socket] = await connect(
        { url: gatewayUrl, connectionParams: { authorization: `Bearer ${user.accessToken}` } },
        1,
      );
      return { ...user, socket };
    }),
  );
}

export const disconnectUsers = (users: ConnectedUser[]): Promise<void> =>
  Promise.all(users.map((user) => user.socket.dispose())).then(() => undefined);

interface SendAnswer {
  data?: { sendMessage: { conversation: { id: string }; generation: { id: string } } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * How a turn is sent: `chat`, the client library's way (docs/clients.md, `streamChat`), sends and
 * streams in one `Subscription.chat` over the user's WebSocket; `mutation` is sendMessage over HTTP,
 * then `generation(id)` over the WebSocket, as a client without the library may do it.
 */
export type SendMode = 'chat' | 'mutation';
export const SEND_MODES: readonly SendMode[] = ['chat', 'mutation'];

/** How turns are taken: sent `send`'s way, and in a new conversation each, or in each user's own. */
export interface TurnOptions {
  send: SendMode;
  /**
   * Given, each user's turns continue one conversation of theirs (the one their last turn was in,
   * by user id, kept here across levels): a follow-up message, whose turn reads the conversation
   * and its history before it writes. Absent, every turn is a first message in a new conversation.
   */
  conversations?: Map<string, string>;
}

/** One turn, as `options` say; starts at `dueAt` (performance.now()). */
export async function takeTurn(
  gatewayUrl: string,
  user: ConnectedUser,
  dueAt: number,
  content: string,
  { send, conversations }: TurnOptions,
): Promise<TurnRecord> {
  // No timer when it is due already: even a 0 ms one would add a millisecond to every latency.
  const wait = dueAt - performance.now();
  if (wait > 0) await delay(wait);
  const input = { content, conversationId: conversations?.get(user.id) ?? null };
  const turn =
    send === 'chat'
      ? await chatTurn(gatewayUrl, user, dueAt, input)
      : await mutationTurn(gatewayUrl, user, dueAt, input);
  if (conversations && turn.conversationId) conversations.set(user.id, turn.conversationId);
  return turn;
}

interface TurnInput {
  content: string;
  conversationId: string | null;
}

interface StartedEvent {
  started?: { conversation: { id: string }; generation: { id: string } } | null;
}

/**
 * `Subscription.chat` with the clients' own document: the first event's `started` is the send's
 * answer. The gateway names the request (the trace finds it through the generation it started).
 */
async function chatTurn(
  gatewayUrl: string,
  user: ConnectedUser,
  dueAt: number,
  input: TurnInput,
): Promise<TurnRecord> {
  const turn: TurnRecord = { dueAt, events: [], ended: 'send-failed' };
  const followed = await follow(
    user.socket,
    CHAT,
    { input },
    { url: gatewayUrl },
    FOLLOW_TIMEOUT_MS,
    (event, at) => {
      const { started } = event as StartedEvent;
      if (!started) return;
      turn.sentAt = at;
      turn.generationId = started.generation.id;
      turn.conversationId = started.conversation.id;
    },
  ).ended;
  if (turn.sentAt === undefined) {
    turn.error = followed.error ?? followed.ended;
    return turn;
  }
  return ended(turn, followed);
}

/** sendMessage over HTTP with the clients' own document and its persisted-query hash, then `generation(id)`. */
async function mutationTurn(
  gatewayUrl: string,
  user: ConnectedUser,
  dueAt: number,
  input: TurnInput,
): Promise<TurnRecord> {
  const turn: TurnRecord = { dueAt, requestId: randomUUID(), events: [], ended: 'send-failed' };
  try {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [REQUEST_ID_HEADER]: turn.requestId as string,
        ...bearer(user.accessToken),
      },
      body: JSON.stringify(requestBody(SendMessageDocument, { input })),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const body = (await response.json()) as SendAnswer;
    turn.sentAt = performance.now();
    const sent = body.data?.sendMessage;
    if (!sent) {
      turn.error = body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}`;
      return turn;
    }
    turn.generationId = sent.generation.id;
    turn.conversationId = sent.conversation.id;
  } catch (error) {
    turn.error = (error as Error).name;
    return turn;
  }
  const followed = await follow(
    user.socket,
    GENERATION_EVENTS,
    { id: turn.generationId },
    { url: gatewayUrl },
    FOLLOW_TIMEOUT_MS,
  ).ended;
  return ended(turn, followed);
}

function ended(turn: TurnRecord, followed: Followed): TurnRecord {
  turn.events = followed.events;
  turn.ended =
    followed.ended === 'complete' && followed.events.at(-1)?.type !== 'DONE' ? 'error' : followed.ended;
  return turn;
}

/** The question of the turn numbered `n`: a little different each time, as users' are. */
export const question = (n: number): string =>
  `Question ${n}: how does a federated gateway stream the tokens of a reply to many clients at once?`;

/** `rounds` times, every user takes a turn at once; the next round starts when the last one's replies have ended. */
export async function turnsAtOnce(
  gatewayUrl: string,
  users: ConnectedUser[],
  rounds: number,
  firstNumber: number,
  options: TurnOptions = { send: 'chat' },
): Promise<TurnRecord[]> {
  const turns: TurnRecord[] = [];
  for (let round = 0; round < rounds; round++) {
    const dueAt = performance.now();
    turns.push(
      ...(await Promise.all(
        users.map((user, i) =>
          takeTurn(gatewayUrl, user, dueAt, question(firstNumber + round * users.length + i), options),
        ),
      )),
    );
  }
  return turns;
}

/**
 * Open-loop arrivals: a turn every 1/rate seconds for `seconds`, whatever the earlier ones are
 * doing (a slow platform meets the same arrivals, so its queues show), the users taking them in turn.
 */
export function turnsAtRate(
  gatewayUrl: string,
  users: ConnectedUser[],
  rate: number,
  seconds: number,
  firstNumber: number,
  options: TurnOptions = { send: 'chat' },
): Promise<TurnRecord[]> {
  const count = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      takeTurn(
        gatewayUrl,
        users[i % users.length],
        start + (i * 1000) / rate,
        question(firstNumber + i),
        options,
      ),
    ),
  );
}
