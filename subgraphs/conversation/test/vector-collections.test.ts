import { randomUUID } from 'node:crypto';
import { type ChromaServer, startChromaServer } from '../../../common/testing/chroma';
import { collectionName, VectorIndexRepository } from '../repositories/vector-index.repository';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import { createChromaConnection } from '../store/chroma-client';

/** Only what names a collection: these vectors are written by hand. */
const model = (name: string, dimensions: number): EmbeddingModel => ({
  name,
  dimensions,
  embed: async () => [],
});
/** A first write creates the collection's segment, which takes a while on a loaded machine. */
const CHROMA_TIMEOUT_MS = 30_000;
const unit = (dimensions: number) => [1, ...new Array<number>(dimensions - 1).fill(0)];

describe('message collections of earlier embedding models (real Chroma)', () => {
  let chroma: ChromaServer;

  beforeAll(async () => {
    chroma = await startChromaServer();
  }, 60_000);
  afterAll(() => chroma?.dispose());

  it('lists each with the size of its vectors, so reindex can drop one of another size', async () => {
    const client = createChromaConnection(chroma.url, CHROMA_TIMEOUT_MS);
    const prefix = `t${randomUUID().slice(0, 8)}-`;
    const old = new VectorIndexRepository(
      client,
      collectionName(prefix, model('gemini-text-embedding-004', 768)),
      CHROMA_TIMEOUT_MS,
    );
    const current = new VectorIndexRepository(
      client,
      collectionName(prefix, model('gemini-gemini-embedding-001', 3072)),
      CHROMA_TIMEOUT_MS,
    );
    const vector = { messageId: randomUUID(), ownerId: randomUUID(), conversationId: randomUUID() };
    await old.upsert([{ ...vector, vector: unit(768) }]);
    await current.upsert([{ ...vector, vector: unit(3072) }]);

    const listed = await current.messageCollections(prefix);
    expect(listed.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: `${prefix}messages-gemini-gemini-embedding-001-3072`, dimensions: 3072 },
      { name: `${prefix}messages-gemini-text-embedding-004-768`, dimensions: 768 },
    ]);

    await current.drop(`${prefix}messages-gemini-text-embedding-004-768`);
    expect(await current.messageCollections(prefix)).toEqual([
      { name: `${prefix}messages-gemini-gemini-embedding-001-3072`, dimensions: 3072 },
    ]);
  }, 60_000);
});
