import { checkHealth } from './health';

const up = () => Promise.resolve();
const down = () => Promise.reject(new Error('connection refused'));
const hangs = () => new Promise(() => undefined);

describe('checkHealth', () => {
  it('is ok when every dependency answers, with a latency for each', async () => {
    const report = await checkHealth({
      postgres: { check: up, critical: true },
      redis: { check: up, critical: false },
    });
    expect(report.status).toBe('ok');
    expect(report.components.postgres).toEqual({ status: 'ok', latencyMs: expect.any(Number) });
  });

  it('is degraded when only a non-critical dependency is down, naming it and why', async () => {
    const report = await checkHealth({
      postgres: { check: up, critical: true },
      chroma: { check: down, critical: false },
    });
    expect(report.status).toBe('degraded');
    expect(report.components.chroma).toMatchObject({ status: 'down', error: 'connection refused' });
  });

  it('is down when a critical dependency is down', async () => {
    const report = await checkHealth({
      postgres: { check: down, critical: true },
      redis: { check: up, critical: false },
    });
    expect(report.status).toBe('down');
  });

  it('counts a dependency that does not answer in time as down', async () => {
    const report = await checkHealth({ redis: { check: hangs, critical: true } }, 50);
    expect(report.status).toBe('down');
    expect(report.components.redis.error).toMatch(/no answer within 50 ms/);
  });
});
