import { Kind, type DocumentNode } from 'graphql';

const isDocument = (value: unknown): value is DocumentNode =>
  typeof value === 'object' && value !== null && (value as DocumentNode).kind === Kind.DOCUMENT;

/** The operation documents a generated types module exports, in its order (fragment documents left out). */
export const operationDocuments = (generated: Record<string, unknown>): DocumentNode[] =>
  Object.values(generated).filter(
    (value): value is DocumentNode =>
      isDocument(value) && value.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION),
  );
