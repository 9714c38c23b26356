import 'reflect-metadata';
import { AUTHORIZATION_DOC, writeAuthorizationDoc } from './authorization-doc';
import { generateSchemaFiles, SCHEMA_DIR, writeSchemaFiles } from './schema-pipeline';

/**
 * `npm run compose`: regenerates schema/*.graphql from the subgraphs' code, and the access table
 * (docs/authorization.md) from the supergraph. Commit the result.
 */
generateSchemaFiles()
  .then(async (files) => {
    await writeSchemaFiles(files);
    for (const file of Object.keys(files)) console.log(`wrote ${SCHEMA_DIR}/${file}`);
    await writeAuthorizationDoc(files['supergraph.graphql']);
    console.log(`wrote ${AUTHORIZATION_DOC}`);
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
