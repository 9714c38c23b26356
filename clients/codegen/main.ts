import { buildSchema, Kind, parse, type DocumentNode } from 'graphql';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { operationText } from '../chat-client/operation';
import { apiSchemaSdl } from './api-schema';
import { operationDocuments } from './documents';
import { CODEGEN_FILES, type GeneratedFile } from './files';
import { persistedOperationsManifest } from './persisted-operations';
import { type OperationGroup, postmanCollection } from './postman';
import { generateTypes } from './types';

/**
 * `npm run codegen` writes clients/generated/ from clients/operations and the supergraph;
 * `npm run codegen -- --check` writes nothing and exits 1 naming each file that is stale.
 *
 * The manifest and the Postman collection are built from the generated typed documents
 * themselves (loaded from disk once the types are current), so their texts are exactly
 * what the typed client sends.
 */
async function main(): Promise<void> {
  const root = process.cwd();
  const check = process.argv.includes('--check');
  const apiSchema = apiSchemaSdl(await readFile(join(root, CODEGEN_FILES.supergraph), 'utf8'));

  const types = await generateTypes(root, apiSchema);
  if (check && (await isStale(root, types))) return reportStale([types.path]);
  if (!check) await write(root, types);

  const documents = operationDocuments((await import(join(root, types.path))) as Record<string, unknown>);
  const derived = [
    persistedOperationsManifest(documents),
    postmanCollection(buildSchema(apiSchema), await operationGroups(root, documents)),
  ];
  if (check) {
    const stale = [];
    for (const file of derived) if (await isStale(root, file)) stale.push(file.path);
    if (stale.length > 0) return reportStale(stale);
    process.stdout.write('clients/generated is up to date\n');
    return;
  }
  for (const file of derived) await write(root, file);
}

/** One folder per file of clients/operations, named after it, holding that file's operations. */
async function operationGroups(root: string, documents: readonly DocumentNode[]): Promise<OperationGroup[]> {
  const byName = new Map(documents.map((document) => [operationText(document).operationName, document]));
  const dir = join(root, CODEGEN_FILES.operationsDir);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.graphql')).sort();
  return Promise.all(
    files.map(async (file) => {
      const names = parse(await readFile(join(dir, file), 'utf8')).definitions.flatMap((definition) =>
        definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : [],
      );
      const stem = basename(file, '.graphql');
      return {
        name: stem.charAt(0).toUpperCase() + stem.slice(1),
        documents: names.map((name) => byName.get(name) as DocumentNode),
      };
    }),
  );
}

async function isStale(root: string, file: GeneratedFile): Promise<boolean> {
  const current = await readFile(join(root, file.path), 'utf8').catch(() => undefined);
  return current !== file.content;
}

async function write(root: string, file: GeneratedFile): Promise<void> {
  await mkdir(dirname(join(root, file.path)), { recursive: true });
  await writeFile(join(root, file.path), file.content);
  process.stdout.write(`wrote ${file.path}\n`);
}

function reportStale(paths: string[]): void {
  process.stderr.write(
    `Stale generated client files (run \`npm run codegen\`):\n${paths.map((p) => `  ${p}\n`).join('')}`,
  );
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`codegen failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
