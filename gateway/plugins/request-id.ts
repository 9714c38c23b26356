import type { RequestHandler, Response } from 'express';
import { REQUEST_ID_HEADER, requestIdFrom, requestIdPlugin } from '../../common/request-id';
import { traceTurn } from '../../common/turn-trace';
import type { GatewayContext } from '../context';
import type { GatewayPlugin } from './plugin';

/** The request id of an HTTP request, as useRequestId settled it. */
export const requestIdOf = (res: Response): string => res.locals.requestId as string;

/**
 * Every request gets an id: the caller's `x-request-id` when it is a sane token, a fresh UUID
 * otherwise. It is echoed in the response header, added to every error the client receives,
 * carried in the signed identity to the subgraphs (and logged there), and in every log line.
 */
export function useRequestId(): GatewayPlugin {
  const assign: RequestHandler = (req, res, next) => {
    res.locals.requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestIdOf(res));
    traceTurn('gateway.request-received', requestIdOf(res));
    next();
  };
  return { name: 'request-id', graphqlRequest: [assign], apollo: requestIdPlugin<GatewayContext>() };
}
