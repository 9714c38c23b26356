import type { Logger } from '../../common/logging/logger';
import { outcomeOf, sentErrors } from './outcome';
import type { GatewayPlugin } from './plugin';

export interface AccessLogOptions {
  logger: Logger;
}

const elapsedMs = (started: number) => Math.round((performance.now() - started) * 10) / 10;

/**
 * One line per operation: its name and type, HTTP status (none over WebSocket/SSE), outcome,
 * duration, the user id and the request id. Never variables or headers, which can hold
 * passwords and tokens. A subscription's line is written when it ends.
 */
export function useAccessLog(options: AccessLogOptions): GatewayPlugin {
  return {
    name: 'access-log',
    apollo: {
      async requestDidStart({ contextValue }) {
        const started = performance.now();
        return {
          async willSendResponse(context) {
            const { operation, operationName, response, request } = context;
            options.logger.info(
              {
                requestId: contextValue.requestId,
                userId: contextValue.identity.userId,
                operationName,
                operationType: operation?.operation,
                transport: request.http ? 'http' : 'stream',
                status: request.http ? (response.http.status ?? 200) : undefined,
                outcome: outcomeOf(sentErrors(context)),
                durationMs: elapsedMs(started),
              },
              'operation',
            );
          },
        };
      },
    },
    subscriptions: {
      observe: (request, context) => {
        const started = performance.now();
        let events = 0;
        let outcome = 'ok';
        return {
          result: (result) => {
            events += 1;
            if (result.errors) outcome = outcomeOf(result.errors.map((error) => error.toJSON()));
            return result;
          },
          end: () => {
            options.logger.info(
              {
                requestId: context.requestId,
                userId: context.identity.userId,
                operationName: request.operationName ?? null,
                operationType: 'subscription',
                transport: 'stream',
                outcome,
                events,
                durationMs: elapsedMs(started),
              },
              'operation',
            );
          },
        };
      },
    },
  };
}
