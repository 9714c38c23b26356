import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file the playground page loads, served from memory. */
export interface PlaygroundAsset {
  name: string;
  contentType: string;
  body: Buffer;
  /** A digest of the content: part of the asset's URL, so a browser may cache it for good. */
  version: string;
}

const JAVASCRIPT = 'text/javascript; charset=utf-8';

/**
 * The prebuilt browser bundles of installed packages, in the order the page loads them: React
 * and ReactDOM (18, the last with UMD builds), GraphiQL 3's UMD bundle (it expects both as
 * globals), and graphql-ws's UMD client for subscriptions. Nothing is fetched from a CDN.
 */
const SOURCES = [
  {
    name: 'graphiql.min.css',
    packageName: 'graphiql',
    file: 'graphiql.min.css',
    contentType: 'text/css; charset=utf-8',
  },
  {
    name: 'react.production.min.js',
    packageName: 'react',
    file: 'umd/react.production.min.js',
    contentType: JAVASCRIPT,
  },
  {
    name: 'react-dom.production.min.js',
    packageName: 'react-dom',
    file: 'umd/react-dom.production.min.js',
    contentType: JAVASCRIPT,
  },
  { name: 'graphiql.min.js', packageName: 'graphiql', file: 'graphiql.min.js', contentType: JAVASCRIPT },
  {
    name: 'graphql-ws.min.js',
    packageName: 'graphql-ws',
    file: 'umd/graphql-ws.min.js',
    contentType: JAVASCRIPT,
  },
] as const;

export type AssetName = (typeof SOURCES)[number]['name'];

const packageDir = (packageName: string) => dirname(require.resolve(`${packageName}/package.json`));

/** Reads every asset once; a missing package fails here, at start, rather than in a browser. */
export function loadPlaygroundAssets(): ReadonlyMap<AssetName, PlaygroundAsset> {
  return new Map(
    SOURCES.map(({ name, packageName, file, contentType }) => {
      const body = readFileSync(join(packageDir(packageName), file));
      const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
      return [name, { name, contentType, body, version }];
    }),
  );
}
