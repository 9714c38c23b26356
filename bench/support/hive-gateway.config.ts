import { defaultPrintFn } from '@graphql-tools/executor-common';
import type { DocumentNode } from 'graphql';
import {
  CONNECTION_DIGEST,
  IDENTITY_HEADER,
  type Identity,
  operationDigest,
  serviceIdentity,
  signIdentity,
} from '../../common/identity/identity';

/**
 * Hive Gateway's configuration in the gateway benchmark (`hive-gateway supergraph -c` loads the
 * compiled file). The subgraphs refuse requests without the signed identity, so a plugin signs
 * one on every subgraph request, as our gateway does; the identity is the benchmark's user,
 * fixed (Hive Gateway does not verify the caller's access token here: see docs/gateway.md).
 * Each identity is signed for its subgraph (found by URL) and the exact body (docs/protocol.md).
 * Subscriptions go to the subgraphs over graphql-ws, with the identity in each subscribe
 * message's `extensions`: Hive's WebSocket transport sends the subgraph execution request's
 * `extensions` as the subscribe payload's, so the plugin signs them there, over the operation as
 * that transport serialises it; its `connectionParams` extension becomes the socket's
 * `connection_init` payload, where the gateway's service identity goes.
 * Hive's own types are not imported: graphql-yoga's augmentation of GraphQLError's extensions
 * would clash with Apollo Server's in this project.
 */
interface FetchOptions {
  headers?: Record<string, string>;
  body?: string;
}

interface ExecutionRequest {
  operationType?: string;
  document: DocumentNode;
  operationName?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

const identity = JSON.parse(process.env.BENCH_IDENTITY ?? '{}') as Identity;
const secret = process.env.IDENTITY_SECRET ?? '';
/** Subgraph name → URL, to know which subgraph a fetch goes to (its audience). */
const subgraphUrls = JSON.parse(process.env.BENCH_SUBGRAPHS ?? '{}') as Record<string, string>;
const audienceOf = (url: string) =>
  Object.keys(subgraphUrls).find((name) => subgraphUrls[name] === url) ?? '';

export const gatewayConfig = {
  supergraph: process.env.BENCH_SUPERGRAPH,
  logging: 'warn',
  // By default Hive collapses identical in-flight subgraph queries into one. Real traffic comes
  // from many users, whose fetches differ (our gateway signs each with the caller and request
  // id), so the benchmark's one user repeating one query would flatter it: off, for a like test.
  transportEntries: {
    '*.http': {
      options: {
        deduplicateInflightRequests: false,
        subscriptions: { kind: 'ws', location: '/graphql' },
      },
    },
  },
  plugins: () => [
    {
      onFetch({
        url,
        options,
        setOptions,
      }: {
        url: string;
        options: FetchOptions;
        setOptions: (options: FetchOptions) => void;
      }) {
        const binding = {
          audience: audienceOf(url),
          digest: operationDigest(JSON.parse(options.body ?? '{}')),
        };
        setOptions({
          ...options,
          headers: { ...options.headers, [IDENTITY_HEADER]: signIdentity(identity, secret, binding) },
        });
      },
      onSubgraphExecute({
        subgraphName,
        executionRequest,
        setExecutionRequest,
      }: {
        subgraphName: string;
        executionRequest: ExecutionRequest;
        setExecutionRequest: (request: ExecutionRequest) => void;
      }) {
        if (executionRequest.operationType !== 'subscription') return;
        const { variables, operationName } = executionRequest;
        // As @graphql-tools/executor-common's serializeExecutionRequest writes the subscribe payload.
        const digest = operationDigest({
          query: defaultPrintFn(executionRequest.document),
          operationName: operationName || undefined,
          variables: variables && Object.keys(variables).length > 0 ? variables : undefined,
        });
        const connection = { audience: subgraphName, digest: CONNECTION_DIGEST };
        setExecutionRequest({
          ...executionRequest,
          extensions: {
            ...executionRequest.extensions,
            [IDENTITY_HEADER]: signIdentity(identity, secret, { audience: subgraphName, digest }),
            connectionParams: {
              [IDENTITY_HEADER]: signIdentity(serviceIdentity('gateway'), secret, connection),
            },
          },
        });
      },
    },
  ],
};
