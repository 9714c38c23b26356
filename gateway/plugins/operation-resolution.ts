import { type DocumentNode, getOperationAST, type GraphQLError, Kind } from 'graphql';
import { AppError, toGraphQLError } from '../../common/errors/errors';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

/**
 * Why the operation to run cannot be picked out of a document (an unknown `operationName`, or
 * several operations and no name), as OPERATION_RESOLUTION_FAILURE; undefined when it can.
 */
export function operationResolutionFailure(
  document: DocumentNode,
  operationName: string | null | undefined,
): GraphQLError | undefined {
  if (getOperationAST(document, operationName)) return undefined;
  const operations = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  ).length;
  const message = operationName
    ? `Unknown operation named "${operationName}"`
    : operations > 1
      ? 'Must provide operationName when the document holds several operations'
      : 'The document holds no operation';
  return toGraphQLError(new AppError('OPERATION_RESOLUTION_FAILURE', message));
}

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
