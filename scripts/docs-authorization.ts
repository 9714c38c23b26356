import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { AUTHORIZATION_DOC, writeAuthorizationDoc } from './authorization-doc';

/** `npm run docs:authorization`: rewrites docs/authorization.md from the committed supergraph. */
readFile(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8')
  .then(async (supergraph) => {
    await writeAuthorizationDoc(supergraph);
    console.log(`wrote ${AUTHORIZATION_DOC}`);
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
