import type { OwnedMessageRecord } from './message.record';

/** A message found by meaning, with its cosine similarity to the query. */
export interface SearchHitRecord {
  score: number;
  message: OwnedMessageRecord;
}
