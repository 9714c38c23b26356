import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { GatewayPlugin } from './plugin';

export interface RequestBodyOptions {
  /** Largest body accepted; a bigger one is refused with 413 before it is parsed. */
  maxBytes: number;
  /** Operations in one batched request (a JSON array); 0 refuses batches. */
  maxBatchSize: number;
}

export const DEFAULT_REQUEST_BODY: RequestBodyOptions = { maxBytes: 100 * 1024, maxBatchSize: 0 };

const refuse = (res: express.Response, status: number, message: string, limit: string, max: number) =>
  res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST', limit, max } }] });

/**
 * Parses the JSON body within a size bound and bounds batches, before anything else reads it.
 * Every operation of an allowed batch then meets every other limit on its own.
 */
export function useRequestBody(options: RequestBodyOptions): GatewayPlugin {
  const batchLimit: RequestHandler = (req, res, next) => {
    if (!Array.isArray(req.body) || req.body.length <= options.maxBatchSize) return next();
    const message =
      options.maxBatchSize === 0
        ? 'Batched requests are not accepted'
        : `At most ${options.maxBatchSize} operations in a batch`;
    refuse(res, 400, message, 'batchSize', options.maxBatchSize);
  };
  const tooLarge: ErrorRequestHandler = (error: { type?: string }, _req, res, next) => {
    if (error.type !== 'entity.too.large') return next(error);
    refuse(
      res,
      413,
      `The request body is larger than ${options.maxBytes} bytes`,
      'bodySize',
      options.maxBytes,
    );
  };
  return {
    name: 'request-body',
    graphqlRequest: [express.json({ limit: options.maxBytes }), tooLarge, batchLimit],
    apolloSettings: { allowBatchedHttpRequests: options.maxBatchSize > 0 },
  };
}
