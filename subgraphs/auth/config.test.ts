import { ConfigError } from '../../common/config/load-config';
import { loadAuthConfig } from './config';

const required = {
  DATABASE_URL: 'postgres://db/app',
  REDIS_URL: 'redis://cache',
  IDENTITY_SECRET: 's'.repeat(32),
};

const problemsOf = (env: Record<string, string>) => {
  try {
    loadAuthConfig({ ...required, ...env });
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('loadAuthConfig', () => {
  it('defaults to 15-minute access tokens, 30-day refresh tokens and keys kept in PostgreSQL', () => {
    expect(loadAuthConfig(required)).toMatchObject({
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_SECONDS: 30 * 24 * 3600,
      PASSWORD_RESET_TTL_SECONDS: 1800,
      JWT_ALGORITHM: 'EdDSA',
      JWT_PRIVATE_JWK: undefined,
      SESSION_REVOCATION_PREFIX: 'revoked-session:',
      ADMIN_EMAILS: [],
    });
  });

  it('names JWT_PRIVATE_JWK when it is not JSON, or not a key it can sign with', () => {
    expect(problemsOf({ JWT_PRIVATE_JWK: '{not json' })).toEqual(['JWT_PRIVATE_JWK: must be JSON']);
    expect(problemsOf({ JWT_PRIVATE_JWK: '{"kty":"RSA","n":"x","e":"AQAB","d":"x"}' }).join('\n')).toMatch(
      /^JWT_PRIVATE_JWK\./m,
    );
  });

  it('refuses previous public keys without a current private key', () => {
    expect(() => loadAuthConfig({ ...required, JWT_PREVIOUS_PUBLIC_JWKS: '[]' })).toThrow(ConfigError);
  });

  it('wants a real SMTP URL when one is given', () => {
    expect(problemsOf({ SMTP_URL: 'mail.example.com' }).join('\n')).toMatch(/^SMTP_URL: /m);
    expect(problemsOf({ SMTP_URL: 'smtps://user:pass@mail.example.com:465' })).toEqual([]);
  });
});
