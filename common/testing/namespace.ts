import { randomBytes } from 'node:crypto';

/**
 * A name no other test file uses, for PostgreSQL schemas, Redis key prefixes and Chroma
 * collections, so test files run in parallel against the same servers without meeting.
 */
export function testNamespace(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  return `t_${safe}_${randomBytes(4).toString('hex')}`;
}
