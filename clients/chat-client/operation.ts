import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createHash } from 'node:crypto';
import { getOperationAST, print, type DocumentNode } from 'graphql';

/** What goes on the wire for one document: its text, its name and the hash that persists it. */
export interface OperationText {
  query: string;
  operationName: string;
  /** SHA-256 (hex) of `query`: the key of the persisted-operations manifest. */
  sha256Hash: string;
  kind: 'query' | 'mutation' | 'subscription';
}

const texts = new WeakMap<DocumentNode, OperationText>();

/**
 * The text a client sends for a document, printed once and cached. The persisted-operations
 * manifest is built with this same function, so a sent text always hashes to a manifest key.
 */
export function operationText(document: DocumentNode | TypedDocumentNode<unknown, unknown>): OperationText {
  const cached = texts.get(document);
  if (cached) return cached;
  const operation = getOperationAST(document);
  if (!operation?.name) throw new Error('A client document must hold exactly one named operation');
  const query = print(document);
  const text: OperationText = {
    query,
    operationName: operation.name.value,
    sha256Hash: createHash('sha256').update(query).digest('hex'),
    kind: operation.operation,
  };
  texts.set(document, text);
  return text;
}

/** The request body of a document: the text with Apollo's persisted-query extension carrying its hash. */
export function requestBody(document: DocumentNode, variables: Record<string, unknown> | undefined) {
  const { query, operationName, sha256Hash } = operationText(document);
  return {
    query,
    operationName,
    variables: variables ?? {},
    extensions: { persistedQuery: { version: 1, sha256Hash } },
  };
}
