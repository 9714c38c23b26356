import { once } from 'node:events';
import { join } from 'node:path';
import { spawnTypeScript } from '../../../common/testing/typescript-process';
import { collectionName, VectorIndexRepository } from '../repositories/vector-index.repository';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import { createChromaConnection } from '../store/chroma-client';
import { append, type Harness, startConversationHarness } from '../testing/harness';
import { type FakeGemini, startFakeGemini } from '../testing/fake-gemini';

/** A first write creates the collection's segment, which takes a while on a loaded machine. */
const CHROMA_TIMEOUT_MS = 30_000;
/** Only what names a collection: the old vectors are written by hand. */
const model = (name: string, dimensions: number): EmbeddingModel => ({
  name,
  dimensions,
  embed: async () => [],
});
const OLD_MODEL = model('gemini-text-embedding-004', 768);
const CURRENT_MODEL = model('gemini-gemini-embedding-001', 3072);
const unit = (dimensions: number) => [1, ...new Array<number>(dimensions - 1).fill(0)];

/** Runs `npm run reindex`'s entry point with `env`; resolves to its exit code and what it wrote. */
async function runReindex(env: Record<string, string>) {
  const child = spawnTypeScript(join(__dirname, 'reindex.ts'), [], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('npm run reindex after the embedding model changed (real PostgreSQL and Chroma, Gemini on loopback)', () => {
  let gemini: FakeGemini;
  let harness: Harness;

  beforeAll(async () => {
    gemini = await startFakeGemini(CURRENT_MODEL.dimensions);
    // No indexer in the service: whatever the new collection holds, reindex put there.
    harness = await startConversationHarness('reindex-cli', {
      route: 'subgraph',
      env: {
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: gemini.baseUrl,
        GEMINI_EMBEDDING_MODEL: 'gemini-embedding-001',
        SEARCH_INDEXER_ENABLED: 'false',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await harness?.stop();
    await gemini?.close();
  });

  it("says the old model's collection has another dimension, drops it, and indexes every message in the new one", async () => {
    const user = await harness.newUser();
    const first = await append(harness, user, { content: 'Where is the lighthouse?' });
    const messages = [
      first,
      await append(harness, user, {
        conversationId: first.conversation.id,
        content: 'On the northern cape.',
      }),
      await append(harness, user, { conversationId: null, content: 'A second conversation.' }),
    ];
    const prefix = harness.env.CHROMA_COLLECTION_PREFIX;
    const chroma = createChromaConnection(harness.env.CHROMA_URL, CHROMA_TIMEOUT_MS);
    const oldIndex = new VectorIndexRepository(chroma, collectionName(prefix, OLD_MODEL), CHROMA_TIMEOUT_MS);
    await oldIndex.upsert(
      messages.map((message) => ({
        messageId: message.id,
        ownerId: user.userId,
        conversationId: message.conversation.id,
        vector: unit(OLD_MODEL.dimensions),
      })),
    );

    const { code, output } = await runReindex(harness.env);
    expect(code).toBe(0);
    expect(output).toContain(
      `the index holds 768-dimension vectors but ${CURRENT_MODEL.name} gives 3072: a change of dimension needs a reindex`,
    );
    expect(output).toContain('reindex complete');

    expect(await oldIndex.messageCollections(prefix)).toEqual([
      { name: collectionName(prefix, CURRENT_MODEL), dimensions: 3072 },
    ]);
    const rebuilt = await chroma.client.getCollection({ name: collectionName(prefix, CURRENT_MODEL) });
    const stored = await rebuilt.get();
    expect(stored.ids.sort()).toEqual(messages.map((message) => message.id).sort());
    // Embedded by the configured model, through its API.
    expect(gemini.requests.flatMap((request) => request.texts).sort()).toEqual(
      messages.map((message) => message.content).sort(),
    );
  }, 120_000);
});
