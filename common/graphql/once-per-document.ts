import type { DocumentNode } from 'graphql';
import { BoundedCache } from '../util/bounded-cache';

/**
 * `work` done once per document object and remembered as long as the document lives: for checks
 * of a document that do not depend on its variables (validation), where the same parsed document
 * comes back again and again (see documentsByText).
 */
export function oncePerDocument<T>(work: (document: DocumentNode) => T): (document: DocumentNode) => T {
  const results = new WeakMap<DocumentNode, T>();
  return (document) => {
    if (results.has(document)) return results.get(document) as T;
    const result = work(document);
    results.set(document, result);
    return result;
  };
}

/**
 * Parses each distinct text once, keeping the last `capacity` documents: clients (and the gateway,
 * for subgraphs) send the same few subscription documents for every reply. A text that does not
 * parse is not kept; `parse` throws for it each time. Documents are shared: never modify one.
 */
export function documentsByText(capacity: number, parse: (text: string) => DocumentNode) {
  const documents = new BoundedCache<string, DocumentNode>(capacity);
  return (text: string): DocumentNode => documents.getOrSet(text, () => parse(text));
}
