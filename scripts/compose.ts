import 'reflect-metadata';
import { generateSchemaFiles, SCHEMA_DIR, writeSchemaFiles } from './schema-pipeline';

/** `npm run compose`: regenerates schema/*.graphql from the subgraphs' code. Commit the result. */
generateSchemaFiles()
  .then(async (files) => {
    await writeSchemaFiles(files);
    for (const file of Object.keys(files)) console.log(`wrote ${SCHEMA_DIR}/${file}`);
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
