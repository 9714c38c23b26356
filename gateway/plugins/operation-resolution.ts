import { operationResolutionFailure } from '../transports/operation-router';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

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
            const failure = operationResolutionFailure(document, request.operationName);
            if (failure) throw httpRefusal(failure);
          },
        };
      },
    },
  };
}
