import type { ErrorRequestHandler, Express, RequestHandler, Response } from 'express';
import type { Logger } from '../logging/logger';
import { AppError, badRequest, internalError } from './errors';
import { REQUEST_ID_HEADER, requestIdFrom } from '../server/request-id';

/** An HTTP-level refusal: its status, what the client is told, and what the log is told. */
interface Refusal {
  status: number;
  message: string;
  /** Stable, bounded: a label for the log line, never the parser's message (which quotes the body). */
  reason: string;
  extensions?: Record<string, unknown>;
}

/** How body-parser (and raw-body under it) reports each way a request body cannot be read. */
const BODY_REFUSALS: Record<string, (error: BodyError) => Omit<Refusal, 'reason'>> = {
  'entity.parse.failed': () => ({ status: 400, message: 'The request body is not valid JSON' }),
  'entity.too.large': (error) => ({
    status: 413,
    message: `The request body is larger than ${error.limit} bytes`,
    extensions: { limit: 'bodySize', max: error.limit },
  }),
  'charset.unsupported': () => ({ status: 415, message: 'The request body must be UTF-8' }),
  'encoding.unsupported': () => ({
    status: 415,
    message: 'The request body’s content encoding is not supported',
  }),
  'request.aborted': () => ({ status: 400, message: 'The request was aborted' }),
  'request.size.invalid': () => ({ status: 400, message: 'The request body does not match its length' }),
};

interface BodyError {
  type?: string;
  status?: number;
  limit?: number;
}

/** The refusal for an error that reached Express; undefined for one that is not the client's doing. */
function refusalOf(error: BodyError): Refusal | undefined {
  const known = error.type ? BODY_REFUSALS[error.type] : undefined;
  if (known) return { ...known(error), reason: error.type as string };
  // Other client errors body-parser raises (a corrupt gzip stream, say) carry a 4xx status.
  if (typeof error.status === 'number' && error.status >= 400 && error.status < 500)
    return { status: error.status, message: 'The request body could not be read', reason: 'body.unreadable' };
  return undefined;
}

/** The request id the response carries (set by the service earlier), or one made from the header now. */
function requestIdFor(res: Response): string {
  const sent = res.getHeader(REQUEST_ID_HEADER);
  const id = requestIdFrom(typeof sent === 'string' ? sent : res.req.headers[REQUEST_ID_HEADER]);
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * Answers a request, before GraphQL runs, with one error as JSON: its code and details, the request
 * id, and the HTTP status of its code unless the refusal names a more precise one (413, 415).
 */
export function sendRefusal(
  res: Response,
  error: AppError,
  requestId: string,
  status = error.httpStatus,
): void {
  if (res.headersSent) return void res.destroy();
  res
    .status(status)
    .json({ errors: [{ message: error.message, extensions: { ...error.extensions, requestId } }] });
}

/**
 * Refuses a body in any charset but UTF-8 (415) before it is decoded: body-parser would decode
 * UTF-16 into text that fails as JSON, and GraphQL over HTTP requires UTF-8 anyway.
 */
export const utf8Only: RequestHandler = (req, _res, next) => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset === undefined || /^utf-?8$/i.test(charset)) return next();
  next(Object.assign(new Error('unsupported charset'), { status: 415, type: 'charset.unsupported' }));
};

/**
 * The end of a service's Express app: an unknown path, a body that cannot be read (malformed
 * JSON, a charset other than UTF-8, a body too large, an aborted request), or anything else that
 * reaches Express's own handler is answered as GraphQL errors in JSON, with a code and the request
 * id, never as Express's HTML page with a stack trace. Each is logged as one structured line:
 * a client's mistake at `info` with a bounded reason, anything else at `error`.
 */
export function answerErrorsAsJson(app: Express, logger: Logger): void {
  const notFound: RequestHandler = (req, res) => {
    const requestId = requestIdFor(res);
    sendRefusal(res, new AppError('NOT_FOUND', `No route for ${req.method} on this path`), requestId);
  };
  const failed: ErrorRequestHandler = (error: BodyError, req, res, _next) => {
    const requestId = requestIdFor(res);
    const refusal = refusalOf(error);
    if (refusal) {
      logger.info(
        { requestId, method: req.method, status: refusal.status, reason: refusal.reason },
        'request refused',
      );
      sendRefusal(res, badRequest(refusal.message, refusal.extensions), requestId, refusal.status);
      return;
    }
    logger.error({ err: error, requestId, method: req.method }, 'unexpected error');
    sendRefusal(res, internalError(), requestId);
  };
  app.use(notFound);
  app.use(failed);
}
