import { ConfigError, env, loadConfig, portFromEnv } from './load-config';

const shape = {
  PORT: env.port(4000),
  DATABASE_URL: env.postgresUrl(),
  ENABLED: env.boolean(false),
  ORIGINS: env.list(['http://localhost:3000']),
  IDENTITY_SECRET: env.identitySecret(),
};

describe('loadConfig', () => {
  it('applies defaults and coerces types', () => {
    const config = loadConfig(shape, { DATABASE_URL: 'postgres://db/app', IDENTITY_SECRET: 's'.repeat(32) });
    expect(config).toEqual({
      PORT: 4000,
      DATABASE_URL: 'postgres://db/app',
      ENABLED: false,
      ORIGINS: ['http://localhost:3000'],
      IDENTITY_SECRET: 's'.repeat(32),
    });
  });

  it('parses booleans and lists as written in an environment', () => {
    const config = loadConfig(shape, {
      DATABASE_URL: 'postgres://db/app',
      IDENTITY_SECRET: 's'.repeat(32),
      ENABLED: 'yes',
      ORIGINS: 'https://a.example, https://b.example',
    });
    expect(config.ENABLED).toBe(true);
    expect(config.ORIGINS).toEqual(['https://a.example', 'https://b.example']);
  });

  it('reports every bad or missing variable by name at once', () => {
    let error: unknown;
    try {
      loadConfig(shape, { PORT: 'eighty', IDENTITY_SECRET: 'short' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: /m);
    expect(problems).toMatch(/^DATABASE_URL: /m);
    expect(problems).toMatch(/^IDENTITY_SECRET: must be at least 32 characters/m);
  });

  it('treats an empty variable as unset', () => {
    expect(() => loadConfig(shape, { DATABASE_URL: '  ', IDENTITY_SECRET: 's'.repeat(32) })).toThrow(
      /DATABASE_URL/,
    );
  });

  it('takes port 0 (any free port) for a service, never where other processes are told the port', () => {
    expect(loadConfig({ PORT: env.port(4000) }, { PORT: '0' }).PORT).toBe(0);
    expect(portFromEnv({ PORT: '5433' }, 'PORT', 5432)).toBe(5433);
    expect(portFromEnv({}, 'PORT', 5432)).toBe(5432);
    expect(() => portFromEnv({ PORT: '0' }, 'PORT', 5432)).toThrow(ConfigError);
    expect(() => portFromEnv({ PORT: '70000' }, 'PORT', 5432)).toThrow(ConfigError);
  });
});
