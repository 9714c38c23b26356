import { GraphQLError, Kind } from 'graphql';
import type { GatewayPlugin } from './plugin';

/**
 * Refuses a request whose operation cannot be picked out of its document (an unknown
 * `operationName`, or several operations and no name) with OPERATION_RESOLUTION_FAILURE and 400.
 * Apollo Server leaves that to the executor, and @apollo/gateway's throws an untyped error that
 * would reach the client as INTERNAL with a 500.
 */
export function useOperationResolution(): GatewayPlugin {
  return {
    name: 'operation-resolution',
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ operation, document, request }) {
            if (operation) return;
            const operations = document.definitions.filter(
              (definition) => definition.kind === Kind.OPERATION_DEFINITION,
            ).length;
            const message = request.operationName
              ? `Unknown operation named "${request.operationName}"`
              : operations > 1
                ? 'Must provide operationName when the document holds several operations'
                : 'The document holds no operation';
            throw new GraphQLError(message, {
              extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } },
            });
          },
        };
      },
    },
  };
}
