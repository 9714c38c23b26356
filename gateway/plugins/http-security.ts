import type { RequestHandler } from 'express';
import { REQUEST_ID_HEADER } from '../../common/server/request-id';
import type { GatewayPlugin } from './plugin';

export interface HttpSecurityOptions {
  /** Origins allowed to call cross-origin, compared exactly (`https://app.example.com`); `*` allows any. */
  corsOrigins: readonly string[];
  /** How long a browser may cache a preflight answer. */
  corsMaxAgeSeconds: number;
}

export const DEFAULT_HTTP_SECURITY: HttpSecurityOptions = { corsOrigins: [], corsMaxAgeSeconds: 600 };

/**
 * Headers for an API that serves JSON and never a page to frame or sniff. A route serving a page
 * (a playground) sets its own Content-Security-Policy over this one.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  // Ignored by browsers over plain HTTP; behind TLS it keeps them on HTTPS.
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** Request headers a browser client may send: its token, Apollo's CSRF-prevention headers, trace context. */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  REQUEST_ID_HEADER,
  'traceparent',
  'tracestate',
].join(', ');
const EXPOSED_HEADERS = [REQUEST_ID_HEADER, 'retry-after'].join(', ');

/**
 * CORS for the configured origins and security headers on every response. Bearer tokens travel
 * in a header, never a cookie, so credentials are not allowed cross-origin; Apollo's CSRF
 * prevention (on by default) refuses the "simple" requests a browser would send without asking.
 */
export function useHttpSecurity(options: HttpSecurityOptions): GatewayPlugin {
  const anyOrigin = options.corsOrigins.includes('*');
  const allowed = new Set(options.corsOrigins);
  const handler: RequestHandler = (req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const origin = req.headers.origin;
    res.append('vary', 'Origin');
    const originAllowed = origin !== undefined && (anyOrigin || allowed.has(origin));
    if (originAllowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    }
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) return next();
    if (!originAllowed) return void res.status(403).end();
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    res.setHeader('access-control-max-age', String(options.corsMaxAgeSeconds));
    res.status(204).end();
  };
  return { name: 'http-security', everyRequest: handler };
}
