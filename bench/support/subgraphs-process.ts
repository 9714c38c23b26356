import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPlatform } from '../../test/support/platform';
import { provideChroma } from '../../scripts/platform/chroma';
import { findFreePort } from '../../scripts/platform/ports';

/** What the subgraphs process prints, as one JSON line, once everything listens. */
export interface RunningSubgraphs {
  /** The platform's own gateway, for seeding data (it is idle while the load runs). */
  seedUrl: string;
  subgraphs: { auth: string; conversation: string; chat: string };
  /** The environment the services run with: a gateway under test is given the same. */
  env: Record<string, string>;
}

/**
 * A child process of the gateway benchmark: the three subgraphs on the real PostgreSQL and
 * Redis (and Chroma, started here unless CHROMA_URL is set), in a namespace of their own that is
 * dropped again when this process is told to stop (SIGTERM) or its parent goes away (stdin).
 */
async function main(): Promise<void> {
  process.env.DATABASE_URL ||= 'postgres://postgres@127.0.0.1:5432/test';
  process.env.REDIS_URL ||= 'redis://127.0.0.1:6379';
  const chromaDir = await mkdtemp(join(tmpdir(), 'bench-chroma-'));
  const chroma = await provideChroma({
    dataDir: join(chromaDir, 'chroma'),
    env: { ...process.env, EMBEDDED_CHROMA_PORT: String(await findFreePort()) },
  });
  process.env.CHROMA_URL = chroma.url;
  // Replies come at once, so that no generation is still writing when the load starts; a
  // benchmark may override any setting with a JSON object as the first argument (say, a pace).
  const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
  const platform = await startTestPlatform('bench', {
    env: { OFFLINE_TOKEN_INTERVAL_MS: '0', QUOTA_CONCURRENT_GENERATIONS: '100', ...overrides },
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await platform.stop();
      await chroma.stop();
      await rm(chromaDir, { recursive: true, force: true });
      process.exit(0);
    })());
  process.once('SIGTERM', () => void stop());
  process.stdin.once('close', () => void stop());
  process.stdin.resume();
  const running: RunningSubgraphs = {
    seedUrl: platform.gatewayUrl,
    subgraphs: {
      auth: platform.subgraphs.auth.url,
      conversation: platform.subgraphs.conversation.url,
      chat: platform.subgraphs.chat.url,
    },
    env: platform.env,
  };
  process.stdout.write(`${JSON.stringify(running)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
