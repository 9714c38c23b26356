import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { AUTHORIZATION_DOC, authorizationDoc } from '../scripts/authorization-doc';

describe('docs/authorization.md', () => {
  const supergraph = readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');

  it('lists the committed supergraph’s access rules (npm run docs:authorization rewrites it)', () => {
    expect(readFileSync(AUTHORIZATION_DOC, 'utf8')).toBe(authorizationDoc(supergraph));
  });

  it('names what the schema declares, not a hand-written list', () => {
    const doc = authorizationDoc(supergraph);
    expect(doc).toMatch(/\| `Query\.me` +\| any signed-in caller +\|/);
    expect(doc).toMatch(/\| `User\.conversations` +\| any signed-in caller +\|/);
    expect(doc).toMatch(/\| `Query\.users` +\| a caller with `role:ADMIN` \(role ADMIN or higher\) +\|/);
  });
});
