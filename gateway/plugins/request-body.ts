import express, { type RequestHandler } from 'express';
import { badRequest } from '../../common/errors/errors';
import { sendRefusal, utf8Only } from '../../common/errors/http-errors';
import type { GatewayPlugin } from './plugin';
import { requestIdOf } from '../request-id';

export interface RequestBodyOptions {
  /** Largest body accepted; a bigger one is refused with 413 before it is parsed. */
  maxBytes: number;
  /** Operations in one batched request (a JSON array); 0 refuses batches. */
  maxBatchSize: number;
}

export const DEFAULT_REQUEST_BODY: RequestBodyOptions = { maxBytes: 100 * 1024, maxBatchSize: 0 };

/**
 * Parses the JSON body within a size bound and bounds batches, before anything else reads it.
 * Every operation of an allowed batch then meets every other limit on its own. A body that cannot
 * be read (too large: 413; not UTF-8: 415; malformed JSON, `null`, aborted: 400) goes on to the
 * app's JSON error answer (common/errors/http-errors.ts).
 */
export function useRequestBody(options: RequestBodyOptions): GatewayPlugin {
  const batchLimit: RequestHandler = (req, res, next) => {
    if (!Array.isArray(req.body) || req.body.length <= options.maxBatchSize) return next();
    const message =
      options.maxBatchSize === 0
        ? 'Batched requests are not accepted'
        : `At most ${options.maxBatchSize} operations in a batch`;
    sendRefusal(
      res,
      badRequest(message, { limit: 'batchSize', max: options.maxBatchSize }),
      requestIdOf(res),
    );
  };
  return {
    name: 'request-body',
    graphqlRequest: [utf8Only, express.json({ limit: options.maxBytes }), batchLimit],
    apolloSettings: { allowBatchedHttpRequests: options.maxBatchSize > 0 },
  };
}
