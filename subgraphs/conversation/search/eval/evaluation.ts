import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../../../common/config/paths';
import type { EmbeddingModel } from '../embeddings/embedding-model';
import { tokenize } from '../embeddings/tokenize';
import { Bm25Index } from './bm25';

export type QueryKind = 'paraphrase' | 'keyword';

export interface SearchDataset {
  messages: { id: string; text: string }[];
  queries: { query: string; target: string; kind: QueryKind }[];
}

export const DATASET_PATH = join(projectRoot(), 'subgraphs/conversation/search/eval/dataset.json');

/** Reads the committed data set and checks that every query's target is one of its messages. */
export async function loadDataset(path = DATASET_PATH): Promise<SearchDataset> {
  const dataset = JSON.parse(await readFile(path, 'utf8')) as SearchDataset;
  const ids = new Set(dataset.messages.map((message) => message.id));
  const orphan = dataset.queries.find((query) => !ids.has(query.target));
  if (orphan) throw new Error(`${path}: query "${orphan.query}" targets unknown message ${orphan.target}`);
  return dataset;
}

/** Ranks message ids for a query, best first. */
export type Ranker = (query: string, limit: number) => Promise<string[]>;

export interface Recall {
  paraphrase: number;
  keyword: number;
  all: number;
}

/** The share of queries whose target is among the first `k` results, per kind of query. */
export async function recallAt(k: number, dataset: SearchDataset, rank: Ranker): Promise<Recall> {
  const found = { paraphrase: [0, 0], keyword: [0, 0], all: [0, 0] };
  for (const { query, target, kind } of dataset.queries) {
    const hit = (await rank(query, k)).includes(target) ? 1 : 0;
    for (const bucket of [found[kind], found.all]) {
      bucket[0] += hit;
      bucket[1] += 1;
    }
  }
  const share = ([hits, total]: number[]) => (total === 0 ? 0 : hits / total);
  return { paraphrase: share(found.paraphrase), keyword: share(found.keyword), all: share(found.all) };
}

export const bm25Ranker = (dataset: SearchDataset): Ranker => {
  const index = new Bm25Index(dataset.messages);
  return async (query, limit) => index.search(query, limit);
};

/** Exact nearest neighbours by cosine similarity (the vectors are L2-normalised). */
export async function embeddingRanker(dataset: SearchDataset, model: EmbeddingModel): Promise<Ranker> {
  const vectors = await model.embed(
    dataset.messages.map((message) => message.text),
    'document',
  );
  return async (query, limit) => {
    const [queryVector] = await model.embed([query], 'query');
    if (!queryVector) return [];
    return dataset.messages
      .flatMap((message, i) => {
        const vector = vectors[i];
        return vector
          ? [{ id: message.id, score: vector.reduce((sum, value, d) => sum + value * queryVector[d], 0) }]
          : [];
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map((hit) => hit.id);
  };
}

/** Words too common to say anything about overlap. */
const FUNCTION_WORDS = new Set(
  'a an and are at be by can do does for from how i in is it its my of on or should so the to was what when why with you your'.split(
    ' ',
  ),
);

/** How many distinct content words each query shares with its target, on average, per kind. */
export function sharedWords(dataset: SearchDataset): Record<QueryKind, { mean: number; none: number }> {
  const texts = new Map(dataset.messages.map((message) => [message.id, message.text]));
  const content = (text: string) => new Set(tokenize(text).filter((word) => !FUNCTION_WORDS.has(word)));
  const result = { paraphrase: { mean: 0, none: 0 }, keyword: { mean: 0, none: 0 } };
  for (const kind of ['paraphrase', 'keyword'] as const) {
    const counts = dataset.queries
      .filter((query) => query.kind === kind)
      .map((query) => {
        const target = content(texts.get(query.target) ?? '');
        return [...content(query.query)].filter((word) => target.has(word)).length;
      });
    result[kind] = {
      mean: counts.reduce((sum, count) => sum + count, 0) / Math.max(1, counts.length),
      none: counts.filter((count) => count === 0).length / Math.max(1, counts.length),
    };
  }
  return result;
}
