import type express from 'express';
import type { Logger } from '../../common/logging/logger';
import type { KeyStore } from './services/signing-keys';

export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * Publishes the public keys that verify access tokens. Short HTTP caching only: a rotated-in key
 * must reach verifiers well within JWT_KEY_ACTIVATION_DELAY_SECONDS.
 */
export const jwksRoute = (keys: KeyStore, logger: Logger) => (app: express.Express) => {
  app.get(JWKS_PATH, async (_req, res) => {
    try {
      const body = { keys: await keys.publicKeys() };
      res.set('cache-control', 'public, max-age=30').type('application/jwk-set+json').json(body);
    } catch (error) {
      logger.error({ err: error }, 'could not read the signing keys');
      res.status(503).json({ error: 'signing keys unavailable' });
    }
  });
};
