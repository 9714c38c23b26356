import { REQUEST_ID_HEADER } from '../../common/server/request-id';
import { postGraphQL } from '../../common/testing/graphql-client';
import { captureLogs } from '../../common/testing/logger';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { startGatewayOn } from './testing/edge-gateway';

const ALLOWED_ORIGIN = 'https://app.example.test';

describe('the gateway over HTTP', () => {
  let platform: TestPlatform;
  let gateway: RunningGateway;

  beforeAll(async () => {
    platform = await startTestPlatform('http-edge');
    gateway = await startGatewayOn(platform, {
      CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://admin.example.test`,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await platform?.stop();
  });

  const preflight = (origin: string) =>
    fetch(gateway.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  describe('CORS', () => {
    it('answers a preflight from a configured origin with what it may send', async () => {
      const response = await preflight(ALLOWED_ORIGIN);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('refuses a preflight from any other origin', async () => {
      const response = await preflight('https://evil.example.test');
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('lets a configured origin read the response, and its request id and Retry-After headers', async () => {
      const response = await postGraphQL(gateway.url, '{ __typename }', {}, { origin: ALLOWED_ORIGIN });
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(response.headers.get('access-control-expose-headers')).toContain(REQUEST_ID_HEADER);
      expect(response.headers.get('vary')).toContain('Origin');
    });

    it('gives another origin no CORS headers, so its browser withholds the response', async () => {
      const response = await postGraphQL(
        gateway.url,
        '{ __typename }',
        {},
        { origin: 'https://evil.example.test' },
      );
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('keeps Apollo’s CSRF prevention: a simple cross-site GET without a preflight header is refused', async () => {
      const response = await fetch(`${gateway.url}?query=${encodeURIComponent('{ __typename }')}`);
      expect(response.status).toBe(400);
    });
  });

  it('sets security headers on every response', async () => {
    for (const path of ['/graphql', '/health']) {
      const response = await fetch(new URL(path, gateway.url));
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  describe('request id', () => {
    it('keeps the caller’s x-request-id and returns it', async () => {
      const response = await postGraphQL(
        gateway.url,
        '{ __typename }',
        {},
        { [REQUEST_ID_HEADER]: 'trace-me-42' },
      );
      expect(response.headers.get(REQUEST_ID_HEADER)).toBe('trace-me-42');
    });

    it('gives a fresh id when the caller sent none or one that is not a sane token', async () => {
      const none = await postGraphQL(gateway.url, '{ __typename }');
      const bad = await postGraphQL(gateway.url, '{ __typename }', {}, { [REQUEST_ID_HEADER]: 'a b\tc' });
      expect(none.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
      expect(bad.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('replaces an x-request-id that is not a sane token, and never lets it reach the log', async () => {
      const captured = captureLogs('gateway', 'info');
      const logged = await startGatewayOn(platform, {}, captured.logger);
      try {
        const hostile = ['x'.repeat(129), '{"level":60,"msg":"forged"}', 'id%0Aforged', 'ünïcode'];
        for (const id of hostile) {
          const response = await postGraphQL(logged.url, '{ me { id } }', {}, { [REQUEST_ID_HEADER]: id });
          expect(response.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
          expect(response.errors?.[0].extensions?.requestId).toBe(response.headers.get(REQUEST_ID_HEADER));
        }
        const lines = captured.lines().join('\n');
        expect(lines).toContain('"msg":"operation"');
        for (const id of hostile) expect(lines).not.toContain(JSON.stringify(id).slice(1, -1));
      } finally {
        await logged.stop();
      }
    });

    it('puts the request id on every error', async () => {
      const response = await postGraphQL(gateway.url, '{ nope }', {}, { [REQUEST_ID_HEADER]: 'err-7' });
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'GRAPHQL_VALIDATION_FAILED',
        requestId: 'err-7',
      });
    });
  });

  it('answers a document whose operation cannot be picked out with 400 and OPERATION_RESOLUTION_FAILURE', async () => {
    const twoOperations = 'query A { __typename } query B { __typename }';
    const unnamed = await postGraphQL(gateway.url, twoOperations);
    const unknown = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: twoOperations, operationName: 'C' }),
    });
    expect(unnamed.status).toBe(400);
    expect(unnamed.errors?.[0]).toMatchObject({
      message: 'Must provide operationName when the document holds several operations',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { errors: unknown[] }).errors[0]).toMatchObject({
      message: 'Unknown operation named "C"',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });
  });

  describe('/metrics', () => {
    const scrape = async () => {
      const response = await fetch(new URL('/metrics', gateway.url));
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };

    it('counts operations by name, type and outcome, with their latency', async () => {
      await postGraphQL(gateway.url, 'query Ping { __typename }');
      await postGraphQL(gateway.url, 'query Broken { nope }');
      const text = await scrape();
      expect(text).toMatch(/gateway_operations_total\{operation="Ping",type="query",outcome="ok"\} [1-9]/);
      expect(text).toMatch(
        /gateway_operations_total\{operation="unresolved",type="unknown",outcome="GRAPHQL_VALIDATION_FAILED"\} [1-9]/,
      );
      expect(text).toMatch(
        /gateway_operation_duration_seconds_bucket\{le="\+Inf",operation="Ping",type="query",outcome="ok"\} [1-9]/,
      );
    });

    it('times subgraph fetches by subgraph', async () => {
      await postGraphQL(gateway.url, '{ models { id } }');
      expect(await scrape()).toMatch(
        /gateway_subgraph_fetch_duration_seconds_count\{subgraph="chat",outcome="ok"\} [1-9]/,
      );
    });

    it('reports open subscriptions, rate-limit refusals, streamed tokens and the process', async () => {
      const text = await scrape();
      for (const name of [
        'gateway_subscriptions_open',
        'gateway_upstream_subscriptions_open{subgraph="chat"}',
        'gateway_rate_limit_refusals_total',
        'gateway_streamed_tokens_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ]) {
        expect(text).toContain(name);
      }
    });
  });
});
