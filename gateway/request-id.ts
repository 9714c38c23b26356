import type { Response } from 'express';

/** The request id of an HTTP request, as the request-id plugin (plugins/request-id.ts) settled it. */
export const requestIdOf = (res: Response): string => res.locals.requestId as string;
