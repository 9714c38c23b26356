import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { GatewayPlugin } from './plugin';

export interface OperatorAccessOptions {
  /** The bearer token operators (Prometheus, a load balancer's deep check) present. */
  token: string;
  /** Paths that need it: what tells an outsider how the platform is built and how it is doing. */
  paths: readonly string[];
}

export const OPERATOR_PATHS = ['/metrics', '/health/all'] as const;

/** Compares digests, so that neither the length nor a prefix of the token leaks through timing. */
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /metrics` and `GET /health/all` answer only to `Authorization: Bearer <OPERATOR_TOKEN>`
 * when a token is configured; anyone else gets 401. `GET /health` (liveness) stays open.
 */
export function useOperatorAccess(options: OperatorAccessOptions): GatewayPlugin {
  const expected = digest(`Bearer ${options.token}`);
  const guard: RequestHandler = (req, res, next) => {
    if (!options.paths.includes(req.path)) return next();
    if (timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) return next();
    res.setHeader('www-authenticate', 'Bearer');
    res.status(401).json({ error: 'operator token required' });
  };
  return { name: 'operator-access', everyRequest: guard };
}
