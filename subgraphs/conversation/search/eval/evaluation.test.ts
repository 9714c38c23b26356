import { silentLogger } from '../../../../common/testing/logger';
import { loadConversationConfig } from '../../config';
import { OfflineEmbeddingModel } from '../embeddings/offline';
import { bm25Ranker, embeddingRanker, loadDataset, recallAt, sharedWords } from './evaluation';

describe('the search evaluation', () => {
  it('has at least 40 queries over a few hundred messages, paraphrases sharing few words with their target', async () => {
    const dataset = await loadDataset();
    expect(dataset.messages.length).toBeGreaterThanOrEqual(200);
    expect(dataset.queries.length).toBeGreaterThanOrEqual(40);
    expect(new Set(dataset.messages.map((message) => message.id)).size).toBe(dataset.messages.length);
    expect(sharedWords(dataset).paraphrase.mean).toBeLessThan(1);
  });

  it('finds paraphrases better with the offline embedding than with BM25', async () => {
    const dataset = await loadDataset();
    const { EMBEDDINGS_CACHE_DIR } = loadConversationConfig({
      DATABASE_URL: 'postgres://unused',
      REDIS_URL: 'redis://unused',
      CHROMA_URL: 'http://unused',
      IDENTITY_SECRET: 'x'.repeat(32),
    });
    const model = new OfflineEmbeddingModel(EMBEDDINGS_CACHE_DIR, silentLogger());
    const offline = await recallAt(3, dataset, await embeddingRanker(dataset, model));
    const bm25 = await recallAt(3, dataset, bm25Ranker(dataset));
    expect(offline.paraphrase).toBeGreaterThan(bm25.paraphrase);
    expect(bm25.keyword).toBeGreaterThan(0.9);
  });
});
