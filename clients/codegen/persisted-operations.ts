import type { DocumentNode } from 'graphql';
import { operationText } from '../chat-client/operation';
import { CODEGEN_FILES, type GeneratedFile, jsonFile } from './files';

/**
 * The persisted-operations manifest: `{ "<sha256 hex of the text>": "<operation text>" }`,
 * the texts exactly as the typed client sends them (fragments included), so a gateway
 * that safelists operations can load it and admit every client operation and nothing else.
 */
export function persistedOperationsManifest(documents: readonly DocumentNode[]): GeneratedFile {
  const manifest = Object.fromEntries(
    documents.map((document) => {
      const { sha256Hash, query } = operationText(document);
      return [sha256Hash, query];
    }),
  );
  return jsonFile(CODEGEN_FILES.persistedOperations, manifest);
}
