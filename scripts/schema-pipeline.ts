import { composeServices } from '@apollo/composition';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { printFederatedSdl } from '../common/graphql/federation';
import { projectRoot } from '../common/config/paths';
import { SUBGRAPHS, type SubgraphName } from '../common/config/topology';
import { buildAuthSchema } from '../subgraphs/auth/schema';
import { buildChatSchema } from '../subgraphs/chat/schema';
import { buildConversationSchema } from '../subgraphs/conversation/schema';

export const SCHEMA_DIR = join(projectRoot(), 'schema');

const builders: Record<SubgraphName, () => Promise<GraphQLSchema>> = {
  auth: buildAuthSchema,
  conversation: buildConversationSchema,
  chat: buildChatSchema,
};

export interface SchemaFiles {
  /** File name under schema/ → contents. */
  [file: string]: string;
}

/** Every subgraph's SDL printed from code, and the supergraph composed from them. */
export async function generateSchemaFiles(): Promise<SchemaFiles> {
  const files: SchemaFiles = {};
  const services = [];
  for (const subgraph of SUBGRAPHS) {
    const sdl = printFederatedSdl(await builders[subgraph.name]());
    files[`${subgraph.name}.graphql`] = sdl;
    services.push({ name: subgraph.name, url: subgraph.defaultUrl, typeDefs: parse(sdl) });
  }
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  files['supergraph.graphql'] = `${result.supergraphSdl.trim()}\n`;
  return files;
}

export async function writeSchemaFiles(files: SchemaFiles, dir = SCHEMA_DIR): Promise<void> {
  await Promise.all(Object.entries(files).map(([file, contents]) => writeFile(join(dir, file), contents)));
}

export async function readSchemaFile(file: string, dir = SCHEMA_DIR): Promise<string | null> {
  return readFile(join(dir, file), 'utf8').catch(() => null);
}
