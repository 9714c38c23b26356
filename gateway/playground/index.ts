import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Request, RequestHandler } from 'express';
import { optionsOf, type GatewayPlugin, type Toggle } from '../plugins/plugin';
import { type AssetName, loadPlaygroundAssets } from './assets';
import { EXAMPLE_TABS } from './examples';
import { PAGE_CONTENT_SECURITY_POLICY, renderPage } from './page';

export interface PlaygroundOptions {
  /** The GraphQL endpoint: a browser opening it (GET, preferring HTML) gets the playground. */
  endpoint: string;
}

export const DEFAULT_PLAYGROUND: PlaygroundOptions = { endpoint: '/graphql' };

/** `PLAYGROUND` decides; unset, the playground is on except when NODE_ENV is production. */
export const playgroundEnabled = (config: { PLAYGROUND?: 'true' | 'false'; NODE_ENV: string }): boolean =>
  config.PLAYGROUND === undefined ? config.NODE_ENV !== 'production' : config.PLAYGROUND === 'true';

/** Prefers HTML to every GraphQL response type, as a browser's address bar does (and curl does not). */
const prefersHtml = (req: Request) =>
  req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html';

/**
 * GraphiQL on the GraphQL endpoint, working with no internet: the page and its bundles come
 * from installed packages, served from memory. Whether on or off, Apollo's own landing page
 * (which loads Apollo's CDN) is disabled, so a browser on the endpoint gets this or nothing.
 */
export function usePlayground(toggle: Toggle<Partial<PlaygroundOptions>>): GatewayPlugin {
  const options = optionsOf(toggle, DEFAULT_PLAYGROUND);
  const plugin: GatewayPlugin = { name: 'playground', apollo: ApolloServerPluginLandingPageDisabled() };
  if (!options) return plugin;

  const assets = loadPlaygroundAssets();
  const assetPath = `${options.endpoint.replace(/\/$/, '')}/playground`;
  const assetUrl = (name: AssetName) => `${assetPath}/${name}?v=${assets.get(name)?.version ?? ''}`;
  const page = renderPage({ endpoint: options.endpoint, tabs: EXAMPLE_TABS }, assetUrl);

  const servePage: RequestHandler = (req, res, next) => {
    if (!prefersHtml(req)) return next();
    res
      .status(200)
      .set({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
        'cache-control': 'no-cache',
      })
      .send(page);
  };
  const serveAsset: RequestHandler<{ asset: string }> = (req, res) => {
    const asset = assets.get(req.params.asset as AssetName);
    if (!asset) return void res.status(404).type('text/plain').send('No such playground file');
    res
      .status(200)
      .set({
        'content-type': asset.contentType,
        // The URL carries the content's digest, so the same URL never names other content.
        'cache-control': req.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache',
      })
      .send(asset.body);
  };
  return {
    ...plugin,
    routes: (app) => {
      app.get(`${assetPath}/:asset`, serveAsset);
      app.get(options.endpoint, servePage);
    },
  };
}
