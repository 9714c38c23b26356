import { createLogger } from '../../../common/logging/logger';
import { loadConversationConfig } from '../config';
import { GeminiEmbeddingModel, geminiEmbeddingDimensions } from '../search/embeddings/gemini';
import { OfflineEmbeddingModel } from '../search/embeddings/offline';
import {
  bm25Ranker,
  embeddingRanker,
  loadDataset,
  type Ranker,
  recallAt,
  sharedWords,
} from '../search/eval/evaluation';

const K = 3;
/** This command's output is its report, so it writes to stdout rather than to a log. */
const print = (line: string) => process.stdout.write(`${line}\n`);
const percent = (value: number) => `${(value * 100).toFixed(1)}%`.padStart(8);

/**
 * `npm run eval:search`: recall@3 of the offline embedding, of Gemini (when GEMINI_API_KEY is
 * set) and of BM25 on the committed data set. Exits non-zero if the offline embedding does not
 * beat BM25 on the paraphrase queries, which is what it is for.
 */
async function main(): Promise<void> {
  const config = loadConversationConfig({
    ...process.env,
    DATABASE_URL: 'postgres://unused',
    REDIS_URL: 'redis://unused',
    CHROMA_URL: 'http://unused',
    IDENTITY_SECRET: 'x'.repeat(32),
  });
  const logger = createLogger({ service: 'eval-search', level: 'warn', pretty: false });
  const dataset = await loadDataset();
  const kinds = { paraphrase: 0, keyword: 0 };
  for (const query of dataset.queries) kinds[query.kind]++;
  const overlap = sharedWords(dataset);
  print(
    `${dataset.messages.length} messages, ${dataset.queries.length} queries (${kinds.paraphrase} paraphrase, ${kinds.keyword} keyword).`,
  );
  print(
    `Content words shared with the target: paraphrase ${overlap.paraphrase.mean.toFixed(2)} on average (${percent(overlap.paraphrase.none).trim()} share none), keyword ${overlap.keyword.mean.toFixed(2)}.`,
  );
  print(`\nrecall@${K}                        paraphrase  keyword      all`);
  const report = async (name: string, ranker: Ranker) => {
    const recall = await recallAt(K, dataset, ranker);
    print(
      `${name.padEnd(32)}${percent(recall.paraphrase)}  ${percent(recall.keyword)} ${percent(recall.all)}`,
    );
    return recall;
  };
  const bm25 = await report('BM25 (keyword baseline)', bm25Ranker(dataset));
  const started = performance.now();
  const offlineModel = new OfflineEmbeddingModel(config.EMBEDDINGS_CACHE_DIR, logger);
  const offline = await report(
    `offline (${offlineModel.name})`,
    await embeddingRanker(dataset, offlineModel),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (config.GEMINI_API_KEY) {
    const gemini = new GeminiEmbeddingModel({
      apiKey: config.GEMINI_API_KEY,
      model: config.GEMINI_EMBEDDING_MODEL,
      dimensions: geminiEmbeddingDimensions(
        config.GEMINI_EMBEDDING_MODEL,
        config.GEMINI_EMBEDDING_DIMENSIONS,
      ),
      baseUrl: config.GEMINI_BASE_URL,
    });
    await report(`Gemini (${config.GEMINI_EMBEDDING_MODEL})`, await embeddingRanker(dataset, gemini));
  } else {
    print(`${'Gemini'.padEnd(32)}skipped: GEMINI_API_KEY is not set`);
  }
  print(`\n(offline: ${seconds} s including loading the word vectors)`);
  if (offline.paraphrase <= bm25.paraphrase) {
    process.stderr.write('FAIL: the offline embedding does not beat BM25 on the paraphrase queries\n');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
