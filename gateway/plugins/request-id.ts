import type { RequestHandler } from 'express';
import { REQUEST_ID_HEADER, requestIdFrom, requestIdPlugin } from '../../common/server/request-id';
import { traceTurn } from '../../common/logging/turn-trace';
import type { GatewayContext } from '../context';
import { requestIdOf } from '../request-id';
import type { GatewayPlugin } from './plugin';

/** A JSON error body with the request id in each error that lacks it; any other body unchanged. */
function withRequestId(body: string, requestId: string): string {
  let parsed: { errors?: { extensions?: Record<string, unknown> }[] };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return body;
  }
  if (!Array.isArray(parsed?.errors)) return body;
  for (const error of parsed.errors) error.extensions = { requestId, ...error.extensions };
  return JSON.stringify(parsed);
}

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
    // Apollo Server answers a few refusals before any plugin runs (CSRF prevention, a body with
    // no query): their errors get the id here, as every other error gets it.
    const send = res.send.bind(res);
    res.send = (body: unknown) =>
      send(res.statusCode >= 400 && typeof body === 'string' ? withRequestId(body, requestIdOf(res)) : body);
    next();
  };
  return { name: 'request-id', graphqlRequest: [assign], apollo: requestIdPlugin<GatewayContext>() };
}
