import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { IDENTITY_HEADER } from '../../../common/identity/identity';
import { type GraphQLResponse, postGraphQL } from '../../../common/testing/graphql-client';
import { serviceConnectionParams, signedHeaders, signedIdentity } from '../../../common/testing/identity';

/**
 * An operation on a subgraph's HTTP endpoint (chat's, unless `audience` names another), signed
 * as the gateway would for `userId`.
 */
export function callAs<Data = Record<string, unknown>>(
  url: string,
  userId: string,
  query: string,
  variables: Record<string, unknown> = {},
  audience = 'chat',
): Promise<GraphQLResponse<Data>> {
  return postGraphQL<Data>(url, query, variables, signedHeaders(userId, { audience, query, variables }));
}

/**
 * A graphql-ws connection to the chat subgraph's /graphql, as the gateway makes it (no retries):
 * with the gateway's service identity in `connection_init`.
 */
export const openSocket = (httpUrl: string): Client =>
  createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: () => serviceConnectionParams('chat'),
  });

export interface TestSubscription<Data> {
  results: FormattedExecutionResult<Data, unknown>[];
  /** The data of every result, in order. */
  data: () => Data[];
  /** Resolves when the server completes the subscription or it errors. */
  ended: Promise<void>;
  /** Resolves once `count` results have arrived (or the subscription has ended). */
  received: (count: number) => Promise<void>;
  error: () => unknown;
  unsubscribe: () => void;
}

/** Subscribes with the signed identity in the subscribe message's extensions (one per operation). */
export function subscribeAs<Data = Record<string, unknown>>(
  client: Client,
  userId: string,
  query: string,
  variables: Record<string, unknown> = {},
): TestSubscription<Data> {
  const results: FormattedExecutionResult<Data, unknown>[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let failure: unknown;
  let finished = false;
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve)).then(() => {
    finished = true;
    settle();
  });
  // A waiter also wakes when the subscription ends early, so the test fails on its assertions.
  const settle = () => {
    for (const waiter of waiters.splice(0)) {
      if (finished || results.length >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
  };
  const unsubscribe = client.subscribe<Data>(
    {
      query,
      variables,
      extensions: { [IDENTITY_HEADER]: signedIdentity(userId, { audience: 'chat', query, variables }) },
    },
    {
      next: (result) => {
        results.push(result);
        settle();
      },
      error: (error) => {
        failure = error;
        end();
      },
      complete: () => end(),
    },
  );
  return {
    results,
    data: () => results.map((result) => result.data as Data),
    ended,
    received: (count) =>
      new Promise((resolve) => {
        waiters.push({ count, resolve });
        settle();
      }),
    error: () => failure,
    unsubscribe,
  };
}
