import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { registerUser, type TestUser } from '../common/testing/auth';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** Why `@defer` is refused, and that it is refused clearly: docs/gateway.md#incremental-delivery-defer. */

const installed = (path: string) => readFileSync(join(projectRoot(), 'node_modules', path), 'utf8');

describe('@defer', () => {
  let platform: TestPlatform;
  let ada: TestUser;
  beforeAll(async () => {
    platform = await startTestPlatform('defer');
    ada = await registerUser(platform);
  });
  afterAll(() => platform?.stop());

  it('is refused with a coded 400 before planning, whatever the client accepts', async () => {
    for (const accept of ['application/json', 'multipart/mixed;deferSpec=20220824, application/json']) {
      const response = await fetch(platform.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, ...ada.headers },
        body: JSON.stringify({ query: '{ me { id ... @defer { displayName } } }' }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('cannot be served by the installed gateway and server (re-check the docs when this fails)', () => {
    expect(installed('@apollo/gateway/dist/executeQueryPlan.js')).toContain(
      '@defer support is not available in the gateway',
    );
    expect(installed('@apollo/server/dist/cjs/incrementalDeliveryPolyfill.js')).toContain("'17.0.0-alpha.9'");
    expect((JSON.parse(installed('graphql/package.json')) as { version: string }).version).toMatch(/^16\./);
  });
});
