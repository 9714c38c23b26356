import { ChromaNotFoundError, ChromaServerError, type Collection, type Where } from 'chromadb';
import { withTimeout } from '../../../common/util/timeout';
import type { EmbeddingModel } from '../search/embeddings/embedding-model';
import type { ChromaConnection } from '../store/chroma-client';

export interface MessageVector {
  messageId: string;
  ownerId: string;
  conversationId: string;
  vector: number[];
}

/** Whose vectors a query may match: always one owner's, optionally narrowed by conversation. */
export interface VectorScope {
  ownerId: string;
  conversationId?: string;
  excludeConversationId?: string;
}

export interface VectorMatch {
  messageId: string;
  /** Cosine similarity, 1 for the same direction. */
  score: number;
}

const QUERY_RETRY_DELAY_MS = 100;

/** What Chroma's query endpoint answers when asked for distances only (one list per query vector). */
interface QueryAnswer {
  ids: string[][];
  distances?: (number | null)[][] | null;
}

/** A collection's REST path (v2), under its tenant and database. */
const collectionPath = (collection: Collection) =>
  `/api/v2/tenants/${encodeURIComponent(collection.tenant)}/databases/${encodeURIComponent(collection.database)}/collections/${collection.id}`;

/** More collections than a deployment's prefix ever holds (one per embedding model it has used). */
const MAX_LISTED_COLLECTIONS = 1_000;

export interface StoredCollection {
  name: string;
  /** The length of its vectors; null when it holds none. */
  dimensions: number | null;
}

/**
 * One collection per embedding model and dimension, so vectors of different models never
 * meet; the prefix separates deployments (or test files) sharing one Chroma.
 */
export const collectionName = (prefix: string, model: EmbeddingModel) =>
  `${prefix}messages-${model.name}-${model.dimensions}`;

/** Message vectors in a Chroma collection, every call bounded by a timeout. */
export class VectorIndexRepository {
  private collection: Promise<Collection> | undefined;

  constructor(
    private readonly chroma: ChromaConnection,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  async upsert(vectors: readonly MessageVector[]): Promise<void> {
    if (vectors.length === 0) return;
    await this.call('upsert', (collection) =>
      this.chroma.rest.post(`${collectionPath(collection)}/upsert`, {
        ids: vectors.map((v) => v.messageId),
        embeddings: vectors.map((v) => v.vector),
        metadatas: vectors.map((v) => ({ ownerId: v.ownerId, conversationId: v.conversationId })),
      }),
    );
  }

  async removeMessages(messageIds: readonly string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.call('delete', (collection) => collection.delete({ ids: [...messageIds] }));
  }

  async removeConversation(conversationId: string): Promise<void> {
    await this.call('delete', (collection) => collection.delete({ where: { conversationId } }));
  }

  async query(vector: number[], scope: VectorScope, limit: number): Promise<VectorMatch[]> {
    const conditions: Where[] = [{ ownerId: scope.ownerId }];
    if (scope.conversationId) conditions.push({ conversationId: scope.conversationId });
    if (scope.excludeConversationId)
      conditions.push({ conversationId: { $ne: scope.excludeConversationId } });
    const query = () =>
      this.call('query', (collection) =>
        this.chroma.rest.post<QueryAnswer>(`${collectionPath(collection)}/query`, {
          query_embeddings: [vector],
          n_results: limit,
          where: conditions.length === 1 ? conditions[0] : { $and: conditions },
          include: ['distances'],
        }),
      );
    // Chroma 1.0 can fail a query that meets the first write of a new collection ("Error
    // creating hnsw segment reader: Nothing found on disk"); the same query a moment later works.
    const result = await query().catch(async (error: unknown) => {
      if (!(error instanceof ChromaServerError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, QUERY_RETRY_DELAY_MS));
      return query();
    });
    const distances = result.distances?.[0] ?? [];
    return (result.ids[0] ?? []).map((messageId, i) => ({
      messageId,
      score: 1 - (distances[i] ?? 1),
    }));
  }

  /**
   * Every message collection under `prefix` (this one and those of earlier embedding models) with
   * the size of the vectors it holds; null for an empty one.
   */
  async messageCollections(prefix: string): Promise<StoredCollection[]> {
    const collections = await withTimeout(
      this.chroma.client.listCollections({ limit: MAX_LISTED_COLLECTIONS }),
      this.timeoutMs,
      'chroma listCollections',
    );
    return Promise.all(
      collections
        .filter((collection) => collection.name.startsWith(`${prefix}messages-`))
        .map(async (collection) => {
          const sample = await withTimeout(
            collection.get({ limit: 1, include: ['embeddings'] }),
            this.timeoutMs,
            'chroma get',
          );
          return { name: collection.name, dimensions: sample.embeddings[0]?.length ?? null };
        }),
    );
  }

  /** Deletes the collection with every vector in it (a rebuild starts from nothing). */
  async drop(name = this.name): Promise<void> {
    if (name === this.name) this.collection = undefined;
    await withTimeout(
      this.chroma.client.deleteCollection({ name }).catch((error: unknown) => {
        if (!(error instanceof ChromaNotFoundError)) throw error;
      }),
      this.timeoutMs,
      'chroma deleteCollection',
    );
  }

  /** Runs one collection call; a collection deleted meanwhile (by a rebuild) is created again. */
  private async call<T>(what: string, work: (collection: Collection) => Promise<T>): Promise<T> {
    try {
      return await withTimeout(this.open().then(work), this.timeoutMs, `chroma ${what}`);
    } catch (error) {
      if (error instanceof ChromaNotFoundError) this.collection = undefined;
      throw error;
    }
  }

  private open(): Promise<Collection> {
    this.collection ??= this.chroma.client.getOrCreateCollection({
      name: this.name,
      embeddingFunction: null,
      configuration: { hnsw: { space: 'cosine' } },
    });
    this.collection.catch(() => (this.collection = undefined));
    return this.collection;
  }
}
