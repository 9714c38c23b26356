import { IDENTITY_HEADER, type Identity, signIdentity } from '../../common/identity';

/**
 * Hive Gateway's configuration in the gateway benchmark (`hive-gateway supergraph -c` loads the
 * compiled file). The subgraphs refuse requests without the signed identity, so a plugin signs
 * one on every subgraph request, as our gateway does; the identity is the benchmark's user,
 * fixed (Hive Gateway does not verify the caller's access token here: see docs/gateway.md).
 * Subscriptions go to the subgraphs over graphql-ws, with the identity in each subscribe
 * message's `extensions` (docs/protocol.md): Hive's WebSocket transport sends the subgraph
 * execution request's `extensions` as the subscribe payload's, so the plugin signs them there.
 * Hive's own types are not imported: graphql-yoga's augmentation of GraphQLError's extensions
 * would clash with Apollo Server's in this project.
 */
interface FetchOptions {
  headers?: Record<string, string>;
}

interface ExecutionRequest {
  operationType?: string;
  extensions?: Record<string, unknown>;
}

const identity = JSON.parse(process.env.BENCH_IDENTITY ?? '{}') as Identity;
const secret = process.env.IDENTITY_SECRET ?? '';

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
        options,
        setOptions,
      }: {
        options: FetchOptions;
        setOptions: (options: FetchOptions) => void;
      }) {
        setOptions({
          ...options,
          headers: { ...options.headers, [IDENTITY_HEADER]: signIdentity(identity, secret) },
        });
      },
      onSubgraphExecute({
        executionRequest,
        setExecutionRequest,
      }: {
        executionRequest: ExecutionRequest;
        setExecutionRequest: (request: ExecutionRequest) => void;
      }) {
        if (executionRequest.operationType !== 'subscription') return;
        setExecutionRequest({
          ...executionRequest,
          extensions: { ...executionRequest.extensions, [IDENTITY_HEADER]: signIdentity(identity, secret) },
        });
      },
    },
  ],
};
