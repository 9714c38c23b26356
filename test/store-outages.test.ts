import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { setTimeout as elapsed } from 'node:timers/promises';
import { registerUser, type TestUser } from '../common/testing/auth';
import { startChromaServer, type ChromaServer } from '../common/testing/chroma';
import { postGraphQL } from '../common/testing/graphql-client';
import { startOwnPostgres, startOwnRedis, type OwnStore } from './support/own-stores';
import { startTestPlatform, type TestPlatform } from './support/platform';
import { type LoadAnswer, type LoadOperation, startLoad } from '../common/testing/write-load';

/**
 * Issue 12, item 4: a store that is unavailable surfaces as the retryable UPSTREAM_UNAVAILABLE
 * naming it, never INTERNAL, and no acknowledged write is lost. Each store here is a server of
 * this file's own, stopped or frozen by pid under a write load through the gateway.
 */

/** How long each PostgreSQL outage lasts: the length of the fault, not a wait for anything. */
const POSTGRES_OUTAGE_MS = 20_000;
const OTHER_OUTAGE_MS = 10_000;

const platformEnv = {
  // Many replies at once from few users; short ones, so the load stays light on a busy machine.
  QUOTA_CONCURRENT_GENERATIONS: '1000',
  OFFLINE_TOKEN_INTERVAL_MS: '5',
};

const data = (answer: { data?: Record<string, unknown> | null }) =>
  answer.data as Record<string, Record<string, unknown>>;

/** The writes of the load, each user in turn, and a read. */
function operations(platform: TestPlatform, users: TestUser[], run: string): LoadOperation[] {
  const as = (n: number) => users[n % users.length].headers;
  return [
    {
      name: 'createConversation',
      send: (n) =>
        postGraphQL(
          platform.gatewayUrl,
          'mutation Create($title: String) { createConversation(title: $title) { id } }',
          { title: `${run} conversation ${n}` },
          as(n),
        ),
      written: (answer) => [`conversation:${String(data(answer).createConversation.id)}`],
    },
    {
      name: 'sendMessage',
      send: (n) =>
        postGraphQL(
          platform.gatewayUrl,
          'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { userMessage { id } } }',
          { input: { content: `${run} message ${n}` } },
          as(n),
        ),
      written: (answer) => [`message:${String((data(answer).sendMessage.userMessage as { id: string }).id)}`],
    },
    {
      name: 'register',
      send: (n) =>
        postGraphQL(
          platform.gatewayUrl,
          'mutation Register($input: RegisterInput!) { register(input: $input) { user { id } } }',
          {
            input: {
              email: `${run}-${n}@example.test`,
              password: 'a long enough passphrase',
              displayName: 'Load',
            },
          },
        ),
      written: (answer) => [`user:${String((data(answer).register.user as { id: string }).id)}`],
    },
    {
      name: 'conversations',
      send: (n) =>
        postGraphQL(
          platform.gatewayUrl,
          '{ me { conversations(first: 3) { edges { node { id title } } } } }',
          {},
          as(n),
        ),
    },
  ];
}

/** Which of the acknowledged writes are missing from PostgreSQL. */
async function missingWrites(databaseUrl: string, platform: TestPlatform, answers: LoadAnswer[]) {
  const written = answers.flatMap((answer) => answer.written);
  const idsOf = (kind: string) =>
    written.filter((key) => key.startsWith(`${kind}:`)).map((key) => key.slice(kind.length + 1));
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const present = async (table: string, ids: string[]) =>
      new Set(
        (
          await client.query<{ id: string }>(`select id from ${table} where id = any($1::uuid[])`, [ids])
        ).rows.map((row) => row.id),
      );
    const { AUTH_DB_SCHEMA: auth, CONVERSATION_DB_SCHEMA: conversation } = platform.env;
    const missing: string[] = [];
    for (const [kind, table] of [
      ['conversation', `${conversation}.conversations`],
      ['message', `${conversation}.messages`],
      ['user', `${auth}.users`],
    ]) {
      const ids = idsOf(kind);
      const found = await present(table, ids);
      missing.push(...ids.filter((id) => !found.has(id)).map((id) => `${kind}:${id}`));
    }
    return { missing, acknowledged: written.length };
  } finally {
    await client.end();
  }
}

/** The answers that are neither a success nor UPSTREAM_UNAVAILABLE naming `dependency`. */
const wrongAnswers = (answers: LoadAnswer[], dependency: string) =>
  answers.filter(
    (answer) => !answer.ok && !(answer.code === 'UPSTREAM_UNAVAILABLE' && answer.dependency === dependency),
  );

async function signedInUsers(platform: TestPlatform, count: number): Promise<TestUser[]> {
  const users = await Promise.all(Array.from({ length: count }, () => registerUser(platform)));
  // Each user's first request makes the gateway fetch auth's keys, which it then holds through the outage.
  await Promise.all(users.map((user) => postGraphQL(platform.gatewayUrl, '{ me { id } }', {}, user.headers)));
  return users;
}

describe('PostgreSQL unavailable under a write load through the gateway', () => {
  let postgres: OwnStore;
  let platform: TestPlatform;
  let users: TestUser[];

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    platform = await startTestPlatform('pg-outage', { env: { ...platformEnv, DATABASE_URL: postgres.url } });
    users = await signedInUsers(platform, 3);
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    await postgres?.dispose();
  });

  const outage = async (
    name: string,
    takeAway: () => Promise<void> | void,
    bringBack: () => Promise<void>,
  ) => {
    const load = startLoad(operations(platform, users, `${name}-${randomUUID()}`), 3);
    await load.until((answer) => answer.ok, 6);
    await takeAway();
    await load.until((answer) => !answer.ok, 3);
    await elapsed(POSTGRES_OUTAGE_MS);
    await bringBack();
    // Every kind of write succeeds again before the load stops.
    await Promise.all(
      ['createConversation', 'sendMessage', 'register'].map((operation) =>
        load.until((answer) => answer.ok && answer.operation === operation),
      ),
    );
    return load.stop();
  };

  const expectOutageAnswered = async (answers: LoadAnswer[]) => {
    const failures = answers.filter((answer) => !answer.ok);
    expect(failures.length).toBeGreaterThan(0);
    expect(wrongAnswers(answers, 'postgres')).toEqual([]);
    // The operation ran and a store failed in it: GraphQL over HTTP answers 200, the code says retry.
    expect(new Set(failures.map((answer) => answer.status))).toEqual(new Set([200]));
    expect(new Set(failures.map((answer) => answer.retryAfter))).toEqual(new Set([2]));
    const { missing, acknowledged } = await missingWrites(postgres.url, platform, answers);
    expect(acknowledged).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  };

  it('stopped (sessions ended, then connections refused): every answer is a success or UPSTREAM_UNAVAILABLE naming postgres, and no acknowledged write is lost', async () => {
    const answers = await outage(
      'stopped',
      () => postgres.stop(),
      () => postgres.start(),
    );
    await expectOutageAnswered(answers);
  }, 120_000);

  it('frozen with SIGSTOP (nothing answers, connections hang): the same, within the statement and connect timeouts', async () => {
    const answers = await outage(
      'frozen',
      () => postgres.freeze(),
      async () => postgres.thaw(),
    );
    await expectOutageAnswered(answers);
  }, 120_000);
});

describe('Redis unavailable to the subgraphs under a write load', () => {
  let redis: OwnStore;
  let platform: TestPlatform;
  let users: TestUser[];

  beforeAll(async () => {
    redis = await startOwnRedis();
    // The subgraphs on a Redis of this file's own; the gateway keeps the shared one (its own
    // Redis down refuses every signed-in request at the edge, which the gateway's tests cover).
    const ownRedis = { REDIS_URL: redis.url };
    platform = await startTestPlatform('redis-outage', {
      env: platformEnv,
      serviceEnv: { auth: ownRedis, conversation: ownRedis, chat: ownRedis },
    });
    users = await signedInUsers(platform, 3);
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    await redis?.dispose();
  });

  it('every answer is a success or UPSTREAM_UNAVAILABLE naming redis, and no acknowledged write is lost', async () => {
    const load = startLoad(operations(platform, users, `redis-${randomUUID()}`), 3);
    await load.until((answer) => answer.ok, 6);
    await redis.stop();
    // Chat cannot admit a reply without its quotas in Redis.
    await load.until((answer) => answer.operation === 'sendMessage' && !answer.ok, 2);
    await elapsed(OTHER_OUTAGE_MS);
    await redis.start();
    await load.until((answer) => answer.operation === 'sendMessage' && answer.ok, 2);
    const answers = await load.stop();

    expect(wrongAnswers(answers, 'redis')).toEqual([]);
    const { missing } = await missingWrites(platform.env.DATABASE_URL, platform, answers);
    expect(missing).toEqual([]);
  }, 120_000);
});

describe('Chroma unavailable under a write load', () => {
  let chroma: ChromaServer;
  let platform: TestPlatform;
  let users: TestUser[];

  beforeAll(async () => {
    chroma = await startChromaServer();
    platform = await startTestPlatform('chroma-outage', { env: { ...platformEnv, CHROMA_URL: chroma.url } });
    users = await signedInUsers(platform, 3);
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    await chroma?.dispose();
  });

  it('writes go on, search answers UPSTREAM_UNAVAILABLE naming chroma, and no acknowledged write is lost', async () => {
    const search: LoadOperation = {
      name: 'searchMessages',
      send: (n) =>
        postGraphQL(
          platform.gatewayUrl,
          'query Search($query: String!) { searchMessages(query: $query, first: 3) { score } }',
          { query: 'a message about conversations' },
          users[n % users.length].headers,
        ),
    };
    const load = startLoad([...operations(platform, users, `chroma-${randomUUID()}`), search], 3);
    await load.until((answer) => answer.operation === 'searchMessages' && answer.ok, 2);
    await chroma.stop();
    await load.until((answer) => answer.operation === 'searchMessages' && !answer.ok, 2);
    await elapsed(OTHER_OUTAGE_MS);
    await chroma.start();
    await load.until((answer) => answer.operation === 'searchMessages' && answer.ok, 2);
    const answers = await load.stop();

    expect(wrongAnswers(answers, 'chroma')).toEqual([]);
    expect(
      answers.filter((answer) => !answer.ok).every((answer) => answer.operation === 'searchMessages'),
    ).toBe(true);
    const { missing } = await missingWrites(platform.env.DATABASE_URL, platform, answers);
    expect(missing).toEqual([]);
  }, 120_000);
});
