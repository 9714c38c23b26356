/** Where codegen reads and writes, relative to the repository root. */
export const CODEGEN_FILES = {
  supergraph: 'schema/supergraph.graphql',
  /** Every `*.graphql` file here is a group of operations (a folder in the Postman collection). */
  operationsDir: 'clients/operations',
  /** TypeScript types of the operations, and a typed document per operation. */
  types: 'clients/generated/graphql.ts',
  /** `{ "<sha256 of the text>": "<operation text>" }`, for the gateway's persisted-operations safelist. */
  persistedOperations: 'clients/generated/persisted-operations.json',
  postmanCollection: 'clients/generated/postman-collection.json',
} as const;

export const OPERATIONS_GLOB = `${CODEGEN_FILES.operationsDir}/*.graphql`;

export interface GeneratedFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

export const jsonFile = (path: string, value: unknown): GeneratedFile => ({
  path,
  content: `${JSON.stringify(value, null, 2)}\n`,
});
