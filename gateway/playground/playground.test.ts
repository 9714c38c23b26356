import { buildSupergraph } from '../../common/graphql/supergraph';
import { parse, validate } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { EXAMPLE_TABS } from './examples';
import { playgroundEnabled } from './index';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const openInBrowser = (url: string) => fetch(url, { headers: { accept: BROWSER_ACCEPT } });

const assetUrls = (page: string, base: string) =>
  [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, path]) => new URL(path, base).toString());

describe('on', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform('playground');
  });
  afterAll(() => platform?.stop());

  test('a browser opening /graphql gets GraphiQL, its scripts and styles served by the gateway itself', async () => {
    const response = await openInBrowser(platform.gatewayUrl);
    const page = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page).toContain('<div id="playground"');
    const assets = assetUrls(page, platform.gatewayUrl);
    expect(assets.map((url) => new URL(url).pathname)).toEqual([
      '/graphql/playground/graphiql.min.css',
      '/graphql/playground/react.production.min.js',
      '/graphql/playground/react-dom.production.min.js',
      '/graphql/playground/graphiql.min.js',
      '/graphql/playground/graphql-ws.min.js',
    ]);
    expect(assets.every((url) => url.startsWith(new URL(platform.gatewayUrl).origin))).toBe(true);
    for (const url of assets) {
      const asset = await fetch(url);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(
        url.includes('.css') ? /^text\/css/ : /^text\/javascript/,
      );
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
  });

  test("the page's Content-Security-Policy lets it load only from the gateway and talk only to it", async () => {
    const response = await openInBrowser(platform.gatewayUrl);
    const policy = response.headers.get('content-security-policy') ?? '';

    expect(policy).toMatch(/(^|; )default-src 'none'(;|$)/);
    expect(policy).toMatch(/(^|; )script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(policy).toMatch(/(^|; )connect-src 'self'(;|$)/);
    expect(policy).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
  });

  test('an asset fetched without its version is not cached for good, and an unknown one is not found', async () => {
    const unversioned = await fetch(new URL('/graphql/playground/graphiql.min.js', platform.gatewayUrl));
    const unknown = await fetch(new URL('/graphql/playground/secrets.json', platform.gatewayUrl));

    expect(unversioned.headers.get('cache-control')).toBe('no-cache');
    expect(unknown.status).toBe(404);
  });

  test('GraphQL clients on /graphql are unaffected', async () => {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('off', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform('playground-off', { env: { PLAYGROUND: 'false' } });
  });
  afterAll(() => platform?.stop());

  test("a browser gets no IDE at all: neither the playground nor Apollo's landing page from its CDN", async () => {
    const response = await openInBrowser(platform.gatewayUrl);
    const body = await response.text();
    const asset = await fetch(new URL('/graphql/playground/graphiql.min.js', platform.gatewayUrl));

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(body).not.toContain('<html');
    expect(body).not.toContain('apollographql.com');
    expect(asset.status).toBeGreaterThanOrEqual(400);
  });
});

test('is on by default except in production, and PLAYGROUND decides either way', () => {
  expect(playgroundEnabled({ NODE_ENV: 'development' })).toBe(true);
  expect(playgroundEnabled({ NODE_ENV: 'test' })).toBe(true);
  expect(playgroundEnabled({ NODE_ENV: 'production' })).toBe(false);
  expect(playgroundEnabled({ NODE_ENV: 'production', PLAYGROUND: 'true' })).toBe(true);
  expect(playgroundEnabled({ NODE_ENV: 'development', PLAYGROUND: 'false' })).toBe(false);
});

test('every example tab is a valid operation of the API schema, with variables that are JSON', () => {
  const supergraph = readFileSync(join(projectRoot(), 'schema/supergraph.graphql'), 'utf8');
  const apiSchema = buildSupergraph(supergraph).apiSchema().toGraphQLJSSchema();

  for (const tab of EXAMPLE_TABS) {
    expect(validate(apiSchema, parse(tab.query))).toEqual([]);
    expect(() => JSON.parse(tab.variables) as unknown).not.toThrow();
  }
  expect(EXAMPLE_TABS.map((tab) => /(?:mutation|query|subscription) (\w+)/.exec(tab.query)?.[1])).toEqual([
    'Register',
    'Login',
    'SendMessage',
    'GenerationEvents',
    'SearchMessages',
    'Models',
    'CreateConversation',
    'UpdateConversationSettings',
    'UpdateInstructions',
    'CreatePreset',
    'Remember',
    'Memories',
    'GenerationContext',
  ]);
});
