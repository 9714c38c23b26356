import { buildSupergraph } from '../common/graphql/supergraph';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSizesOf, unsizedListFields } from '../common/graphql/list-size';
import { projectRoot } from '../common/config/paths';
import { SUBGRAPHS } from '../common/config/topology';
import { generateSchemaFiles, readSchemaFile } from '../scripts/schema-pipeline';

describe('schema pipeline', () => {
  let generated: Record<string, string>;

  beforeAll(async () => {
    generated = await generateSchemaFiles();
  });

  it('composes the three subgraphs into a supergraph without errors', () => {
    expect(Object.keys(generated).sort()).toEqual([
      'auth.graphql',
      'chat.graphql',
      'conversation.graphql',
      'supergraph.graphql',
    ]);
    for (const subgraph of SUBGRAPHS) {
      expect(generated['supergraph.graphql']).toContain(
        `${subgraph.name.toUpperCase()} @join__graph(name: "${subgraph.name}", url: "${subgraph.defaultUrl}")`,
      );
    }
  });

  it.each(['auth.graphql', 'conversation.graphql', 'chat.graphql', 'supergraph.graphql'])(
    'has committed schema/%s exactly as the code produces it (run `npm run compose` after a schema change)',
    async (file) => {
      expect(await readSchemaFile(file)).toBe(generated[file]);
    },
  );

  it('gives every list field of the supergraph a size the cost estimate knows (@listSize)', () => {
    // Internal (@inaccessible) fields included: a subgraph bounds those on its own.
    const sdl = generated['supergraph.graphql'];
    const schema = buildSupergraph(sdl).schema.toGraphQLJSSchema();
    expect(unsizedListFields(schema, listSizesOf(sdl))).toEqual([]);
  });

  it('declares each subgraph in rover.yaml with Federation 2, its routing URL and its schema file', async () => {
    const rover = await readFile(join(projectRoot(), 'rover.yaml'), 'utf8');
    expect(rover).toMatch(/^federation_version: =?2\./m);
    for (const subgraph of SUBGRAPHS) {
      expect(rover).toContain(
        `  ${subgraph.name}:\n    routing_url: ${subgraph.defaultUrl}\n    schema:\n      file: ./schema/${subgraph.name}.graphql`,
      );
    }
  });
});
