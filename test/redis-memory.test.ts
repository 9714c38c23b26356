import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { REDIS_CONF } from '../scripts/platform/redis';

/** redis.conf's options, name → value (quotes kept as written). */
function redisConfOptions(): Map<string, string> {
  const text = readFileSync(join(projectRoot(), REDIS_CONF), 'utf8');
  return new Map(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => {
        const [name, ...value] = line.split(/\s+/);
        return [name.toLowerCase(), value.join(' ')] as const;
      }),
  );
}

const BYTES_PER_UNIT: Record<string, number> = { '': 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

const bytesOf = (value: string | undefined): number => {
  const match = /^(\d+)(kb|mb|gb)?$/i.exec(value ?? '');
  return match ? Number(match[1]) * BYTES_PER_UNIT[(match[2] ?? '').toLowerCase()] : 0;
};

/*
 * Issue 11, item 6: anonymous clients could fill Redis. Every Redis the platform starts (npm start,
 * docker compose) runs with redis.conf (scripts/platform/redis.test.ts checks the running server has
 * its options, test/containers.test.ts that compose mounts it; test/kubernetes.test.ts checks the
 * quickstart's own Redis). Redis's defaults are no memory limit at all, so the file must set one,
 * and every key that must not be lost (revocations, identity nonces, generation streams) has a TTL,
 * so the only safe policy is to evict nothing.
 */
describe('redis.conf', () => {
  const options = redisConfOptions();

  it('bounds the memory of every Redis the platform starts', () => {
    expect(bytesOf(options.get('maxmemory'))).toBeGreaterThan(0);
  });

  it('evicts nothing when full, since what must not be lost has a TTL like everything else', () => {
    expect(options.get('maxmemory-policy')).toBe('noeviction');
  });
});
