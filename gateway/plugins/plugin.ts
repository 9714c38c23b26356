import type { ApolloServerOptionsWithGateway, ApolloServerPlugin } from '@apollo/server';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { GatewayContext } from '../context';
import type { SubgraphFetch } from '../signed-data-source';
import type { SubscriptionHooks } from '../transports/operation-router';

/** Apollo Server settings a plugin owns; index.ts checks that no two plugins set the same one. */
export type ApolloSettings = Partial<
  Pick<
    ApolloServerOptionsWithGateway<GatewayContext>,
    'formatError' | 'introspection' | 'parseOptions' | 'persistedQueries' | 'allowBatchedHttpRequests'
  >
>;

/**
 * One cross-cutting feature of the gateway's edge. Each part is optional; index.ts puts the
 * plugins in order and hands each part to the place that runs it.
 */
export interface GatewayPlugin {
  name: string;
  /** Runs for every request, on every path, before any route (CORS, security headers). */
  everyRequest?: RequestHandler;
  /** Routes of their own (`GET /metrics`, a playground). */
  routes?: (app: Express) => void;
  /** Runs on `/graphql` before the SSE transport and Apollo (body limits, trace context). */
  graphqlRequest?: (RequestHandler | ErrorRequestHandler)[];
  apollo?: ApolloServerPlugin<GatewayContext>;
  apolloSettings?: ApolloSettings;
  /** The subscription path, which Apollo's plugins do not see. */
  subscriptions?: SubscriptionHooks;
  subgraphFetch?: (fetch: SubgraphFetch) => void;
  /** The document a persisted-query hash stands for, for a transport that resolves hashes itself (multipart). */
  documentByHash?: (sha256Hash: string) => Promise<string | undefined>;
  stop?: () => Promise<void> | void;
}

/** A config toggle in the Hive Gateway style: off, on with the defaults, or on with options. */
export type Toggle<Options> = boolean | Options;

/** The options a toggle turns on, merged over the defaults; undefined when it is off. */
export function optionsOf<Options extends object>(
  toggle: Toggle<Partial<Options>> | undefined,
  defaults: Options,
): Options | undefined {
  if (toggle === false || toggle === undefined) return undefined;
  return toggle === true ? defaults : { ...defaults, ...toggle };
}
