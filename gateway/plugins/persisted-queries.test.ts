import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startTestPlatform, type TestPlatform } from '../../common/testing/platform';
import type { RunningGateway } from '../app';
import { firstResultOf, postRaw, startGatewayOn, webSocketClient } from './testing/edge-gateway';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const MODELS = 'query Models { models { id } }';
const TYPENAME = 'query Typename { __typename }';

interface Body {
  data?: unknown;
  errors?: { extensions?: Record<string, unknown> }[];
}

/** A request in Apollo's APQ protocol: the hash, and the document only when given. */
const persisted = (url: string, hash: string, query?: string) =>
  postRaw(
    url,
    JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
  ) as Promise<{
    status: number;
    body: Body;
  }>;
const codesOf = (body: Body) => (body.errors ?? []).map((error) => error.extensions?.code);

describe('persisted queries', () => {
  let platform: TestPlatform;
  let manifestDir: string;

  beforeAll(async () => {
    platform = await startTestPlatform('persisted-queries');
    manifestDir = await mkdtemp(join(tmpdir(), 'safelist-'));
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(manifestDir, { recursive: true, force: true });
  });

  describe('automatic persisted queries (APQ)', () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      gateway = await startGatewayOn(platform, { PERSISTED_QUERIES: 'apq' });
    });
    afterAll(() => gateway?.stop());

    it('asks for the document on a miss, stores it in Redis, then runs it by its hash alone', async () => {
      const hash = sha256(MODELS);
      const miss = await persisted(gateway.url, hash);
      expect(codesOf(miss.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      const registered = await persisted(gateway.url, hash, MODELS);
      expect(registered.body.data).toEqual({ models: expect.any(Array) });

      const redis = new Redis(platform.env.REDIS_URL);
      try {
        const keys = await redis.keys(`${platform.namespace}:*apq:${hash}`);
        expect(keys).toHaveLength(1);
        expect(await redis.get(keys[0])).toBe(MODELS);
      } finally {
        redis.disconnect();
      }
      const hit = await persisted(gateway.url, hash);
      expect(hit.body).toEqual(registered.body);
    });

    it('refuses a document whose hash does not match, or another APQ version, as BAD_REQUEST (400)', async () => {
      const response = await persisted(gateway.url, sha256('{ something else }'), MODELS);
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        {
          message: expect.any(String),
          extensions: { code: 'BAD_REQUEST', requestId: expect.any(String) },
        },
      ]);
      const otherVersion = await postRaw(
        gateway.url,
        JSON.stringify({
          query: MODELS,
          extensions: { persistedQuery: { version: 2, sha256Hash: sha256(MODELS) } },
        }),
      );
      expect(otherVersion.status).toBe(400);
      expect(codesOf(otherVersion.body as Body)).toEqual(['BAD_REQUEST']);
    });
  });

  describe('safelist', () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      const manifest = join(manifestDir, 'persisted-documents.json');
      await writeFile(manifest, JSON.stringify({ [sha256(MODELS)]: MODELS, [sha256(TYPENAME)]: TYPENAME }));
      gateway = await startGatewayOn(platform, {
        PERSISTED_QUERIES: 'safelist',
        PERSISTED_QUERIES_MANIFEST: manifest,
      });
    });
    afterAll(() => gateway?.stop());

    it('runs a manifest operation by its hash alone', async () => {
      expect((await persisted(gateway.url, sha256(MODELS))).body.data).toEqual({ models: expect.any(Array) });
    });

    it('runs a manifest operation sent in full', async () => {
      const response = await postRaw(gateway.url, JSON.stringify({ query: TYPENAME }));
      expect(response.body).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses any other document, in full or by a hash it does not know, and registers nothing', async () => {
      const other = '{ __typename models { id } }';
      const inFull = (await postRaw(gateway.url, JSON.stringify({ query: other }))) as {
        status: number;
        body: Body;
      };
      expect(inFull.status).toBe(403);
      expect(inFull.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', limit: 'safelist' });
      const registering = await persisted(gateway.url, sha256(other), other);
      expect(codesOf(registering.body)).toEqual(['FORBIDDEN']);
      expect(codesOf((await persisted(gateway.url, sha256(other))).body)).toEqual([
        'PERSISTED_QUERY_NOT_FOUND',
      ]);
    });

    it('refuses a subscription that is not in the manifest, over WebSocket', async () => {
      const client = webSocketClient(gateway);
      try {
        const result = await firstResultOf(client, 'subscription { generation(id: "x") { seq } }');
        expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', limit: 'safelist' });
      } finally {
        await client.dispose();
      }
    });

    it('will not start on a manifest whose hashes are not the sha256 of their documents', async () => {
      const manifest = join(manifestDir, 'sha1.json');
      await writeFile(
        manifest,
        JSON.stringify({ [createHash('sha1').update(MODELS).digest('hex')]: MODELS }),
      );
      await expect(
        startGatewayOn(platform, { PERSISTED_QUERIES: 'safelist', PERSISTED_QUERIES_MANIFEST: manifest }),
      ).rejects.toThrow(/sha256/);
    });
  });
});
