import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { supergraphHash } from './current';
import { validateSupergraph } from './validation';

const committed = readFileSync(join(projectRoot(), 'schema/supergraph.graphql'), 'utf8');

describe('whether the gateway can serve a supergraph', () => {
  it('accepts the committed one, with the security features the edge enforces, planned and with its access rules', () => {
    const validation = validateSupergraph(committed);
    expect(validation).toMatchObject({ ok: true, hash: supergraphHash(committed) });
    if (!validation.ok) return;
    expect(validation.planner.accessRules.get('Query.me')).toEqual({ role: null });
  });

  it('refuses a security feature the edge does not enforce (Federation’s @policy)', () => {
    const withPolicy = committed.replace(
      '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
      '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)\n  @link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)',
    );
    expect(withPolicy).not.toBe(committed);
    expect(validateSupergraph(withPolicy)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/policy/),
    });
  });

  it.each([
    ['does not parse', committed.replace('type Query', 'type Query {')],
    ['is no supergraph', 'type Query { version: Int! }'],
    [
      'has no join spec',
      committed.replace('@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)', ''),
    ],
  ])('refuses one that %s, naming why', (_what, sdl) => {
    const validation = validateSupergraph(sdl);
    expect(validation).toMatchObject({ ok: false, hash: supergraphHash(sdl), reason: expect.any(String) });
  });
});
