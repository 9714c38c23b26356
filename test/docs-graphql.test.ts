import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSchema, type DocumentNode, Kind, parse, validate } from 'graphql';
import { apiSchemaSdl } from '../clients/codegen/api-schema';

/** Every GraphQL operation the docs show is one a client could send: it parses and validates against the API schema. */

const ROOT = resolve(__dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

const schema = buildSchema(apiSchemaSdl(readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8')));

/**
 * Each operation of each ```graphql block, with the block's fragments: a block may show several
 * operations side by side. SDL excerpts are the schema's, not a client's, and are left out.
 */
function operationsOf(page: string): { page: string; name: string; document: DocumentNode }[] {
  const blocks = [...readFileSync(join(ROOT, page), 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)];
  return blocks.flatMap(([, source]) => {
    const { definitions } = parse(source);
    const fragments = definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION);
    return definitions
      .filter((definition) => definition.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => ({
        page,
        name: operation.name?.value ?? `an anonymous ${operation.operation}`,
        document: { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] } as DocumentNode,
      }));
  });
}

const operations = pages.flatMap(operationsOf);

describe('GraphQL in the docs', () => {
  it('finds the operations', () => {
    expect(operations.length).toBeGreaterThan(3);
  });

  it.each(operations)('$page: $name validates against the API schema', ({ document }) => {
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });
});
