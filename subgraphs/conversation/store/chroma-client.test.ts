import { randomUUID } from 'node:crypto';
import { ChromaClientError, ChromaConnectionError, ChromaNotFoundError } from 'chromadb';
import { deleteChromaCollections } from '../../../common/testing/chroma';
import { testServers } from '../../../common/testing/env';
import { findFreePort } from '../../../common/util/free-port';
import { createChromaConnection } from './chroma-client';

/*
 * The REST transport a turn's Chroma calls take (the shared test Chroma): it answers as Chroma does
 * and fails with the chromadb client's own errors, so the repository handles both the same way.
 */
describe('ChromaRest (real Chroma)', () => {
  const { chromaUrl } = testServers();
  const prefix = `rest-${randomUUID().slice(0, 8)}-`;
  const chroma = createChromaConnection(chromaUrl, 30_000);
  afterAll(async () => {
    chroma.rest.close();
    await deleteChromaCollections(chromaUrl, prefix);
  });

  const pathOf = (collection: { tenant: string; database: string; id: string }) =>
    `/api/v2/tenants/${collection.tenant}/databases/${collection.database}/collections/${collection.id}`;

  it('upserts and queries a collection the client made, as the client would', async () => {
    const collection = await chroma.client.getOrCreateCollection({
      name: `${prefix}vectors`,
      embeddingFunction: null,
      configuration: { hnsw: { space: 'cosine' } },
    });
    await chroma.rest.post(`${pathOf(collection)}/upsert`, {
      ids: ['a', 'b'],
      embeddings: [
        [1, 0],
        [0, 1],
      ],
      metadatas: [{ ownerId: 'o1' }, { ownerId: 'o2' }],
    });
    expect(await collection.count()).toBe(2);
    const answer = await chroma.rest.post<{ ids: string[][]; distances: number[][] }>(
      `${pathOf(collection)}/query`,
      { query_embeddings: [[1, 0.1]], n_results: 5, where: { ownerId: 'o1' }, include: ['distances'] },
    );
    expect(answer.ids).toEqual([['a']]);
    expect(answer.distances[0][0]).toBeLessThan(0.01);
  });

  it('fails as the client does: not found, a refused request, no server', async () => {
    const missing = { tenant: 'default_tenant', database: 'default_database', id: randomUUID() };
    await expect(
      chroma.rest.post(`${pathOf(missing)}/query`, { query_embeddings: [[1]] }),
    ).rejects.toBeInstanceOf(ChromaNotFoundError);
    const collection = await chroma.client.getOrCreateCollection({
      name: `${prefix}refused`,
      embeddingFunction: null,
    });
    await expect(
      chroma.rest.post(`${pathOf(collection)}/upsert`, { ids: 'not a list' }),
    ).rejects.toBeInstanceOf(ChromaClientError);
    const nowhere = createChromaConnection(`http://127.0.0.1:${await findFreePort()}`, 1_000);
    await expect(nowhere.rest.post('/api/v2/heartbeat', {})).rejects.toBeInstanceOf(ChromaConnectionError);
    nowhere.rest.close();
  });
});
