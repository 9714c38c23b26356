/** Connection URLs of the real servers, set by test/global-setup.ts. */
export function testServers() {
  const { DATABASE_URL, REDIS_URL, CHROMA_URL } = process.env;
  if (!DATABASE_URL || !REDIS_URL || !CHROMA_URL) {
    throw new Error('DATABASE_URL, REDIS_URL and CHROMA_URL must be set (jest globalSetup does it)');
  }
  return { databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, chromaUrl: CHROMA_URL };
}

export const TEST_IDENTITY_SECRET = 'test-identity-secret-0123456789abcdef';
