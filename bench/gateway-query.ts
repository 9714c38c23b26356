import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IDENTITY_HEADER, type Identity, operationDigest, signIdentity } from '../common/identity/identity';
import {
  CONVERSATIONS_PART,
  DASHBOARD_QUERY as QUERY,
  ENTITIES,
  seedDashboardUser as seed,
} from './support/dashboard';
import { formatTable, type LoadResult, type LoadTarget, measure } from './support/load';
import { BenchServices } from './support/services';

/*
 * `npm run bench:gateway`: one realistic query that spans the three subgraphs (the caller, their
 * 20 latest conversations each with its last message, and their usage), under the same load
 * (autocannon, same connections and duration), against this gateway, Hive Gateway 2.15.1
 * serving the same committed supergraph, and each subgraph directly with its part of the query
 * (the fetches of the plan). Every server runs in a process of its own; the load comes from this
 * one. Besides throughput and latency, each row has the CPU milliseconds per request of the
 * gateway and of the subgraphs' process, read from /proc over the measured seconds: a comparison of
 * the gateways' own cost that holds when the subgraphs are what limits the throughput.
 * Figures and what limited them: docs/gateway.md.
 */

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '20' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    conversations: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
  },
});

/** Fails the run unless the target answers the query without errors (a fast error is no result). */
async function checkAnswers(target: LoadTarget): Promise<unknown> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers?.() },
    body: target.body,
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (!response.ok || body.errors)
    throw new Error(`${target.name} answered ${response.status}: ${JSON.stringify(body)}`);
  return body.data;
}

async function main(): Promise<void> {
  const options = {
    connections: Number(args.connections),
    durationSeconds: Number(args.duration),
    warmupSeconds: Number(args.warmup),
  };
  const workDir = await mkdtemp(join(tmpdir(), 'bench-gateway-'));
  const services = new BenchServices(workDir);
  try {
    console.log('Starting the subgraphs and seeding data...');
    const subgraphs = await services.startSubgraphs();
    const user = await seed(subgraphs.seedUrl, Number(args.conversations));
    const sessionId = JSON.parse(Buffer.from(user.accessToken.split('.')[1], 'base64url').toString())
      .sid as string;
    const identity: Identity = {
      userId: user.id,
      role: 'USER',
      sessionId,
      requestId: 'bench',
      issuer: 'gateway',
    };
    const body = (query: string, variables: Record<string, unknown> = {}) =>
      JSON.stringify({ query, variables });
    // Each request signs afresh, as the gateway does: for that subgraph and that body, used once.
    const signed = (audience: string, requestBody: string) => () => ({
      [IDENTITY_HEADER]: signIdentity(identity, subgraphs.env.IDENTITY_SECRET, {
        audience,
        digest: operationDigest(JSON.parse(requestBody)),
      }),
    });
    const representations = { representations: [{ __typename: 'User', id: user.id }] };

    console.log('Starting this gateway and Hive Gateway...');
    const [ours, hive] = await Promise.all([
      services.startOurGateway(subgraphs),
      services.startHiveGateway(subgraphs, identity),
    ]);
    const gateways: LoadTarget[] = [
      {
        name: 'this gateway',
        url: ours.url,
        body: body(QUERY),
        headers: () => user.headers,
        gatewayPid: ours.pid,
      },
      { name: 'Hive Gateway 2.15.1', url: hive.url, body: body(QUERY), gatewayPid: hive.pid },
    ];
    const directly = (name: string, audience: string, requestBody: string): LoadTarget => ({
      name,
      url: subgraphs.subgraphs[audience as keyof typeof subgraphs.subgraphs],
      body: requestBody,
      headers: signed(audience, requestBody),
    });
    const direct: LoadTarget[] = [
      directly('auth alone (me)', 'auth', body('{ me { id displayName } }')),
      directly(
        'conversation alone (_entities)',
        'conversation',
        body(ENTITIES(CONVERSATIONS_PART), representations),
      ),
      directly(
        'chat alone (_entities)',
        'chat',
        body(ENTITIES('usage { totalTokens dailyTokensRemaining today { totalTokens } }'), representations),
      ),
    ];
    const [ourAnswer, hiveAnswer] = await Promise.all(gateways.map(checkAnswers));
    if (JSON.stringify(ourAnswer) !== JSON.stringify(hiveAnswer))
      throw new Error('the two gateways answer differently');
    await Promise.all(direct.map(checkAnswers));

    console.log(
      `Load: ${options.connections} connections, ${options.warmupSeconds}s warm-up then ${options.durationSeconds}s per target.`,
    );
    // Rounds alternate which gateway goes first, so that neither always meets a warmer machine.
    const results: LoadResult[] = [];
    for (let round = 1; round <= Number(args.rounds); round++) {
      const order = round % 2 === 1 ? gateways : [...gateways].reverse();
      for (const target of [...order, ...direct]) {
        console.log(`  round ${round}: ${target.name}...`);
        const result = await services.whileRunning(measure(target, options, subgraphs.pid));
        results.push({ ...result, name: `${target.name} (round ${round})` });
      }
    }
    console.log(`\n${formatTable(results)}\n`);
  } finally {
    await services.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
