import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import type { RunningGateway } from '../app';
import { eventually } from '../../common/testing/wait';
import { firstResultOf, postRaw, startGatewayOn, webSocketClient } from './testing/edge-gateway';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const MODELS = 'query Models { models { id } }';
const TYPENAME = 'query Typename { __typename }';

interface Body {
  data?: unknown;
  errors?: { extensions?: Record<string, unknown> }[];
}

/** A request in Apollo's APQ protocol: the hash, and the document only when given. */
const persisted = (url: string, hash: string, query?: string, headers: Record<string, string> = {}) =>
  postRaw(
    url,
    JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    headers,
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
    let ada: TestUser;
    const redis = () => new Redis(platform.env.REDIS_URL);
    const storedKeys = async (hash: string) => {
      const client = redis();
      try {
        return await client.keys(`${platform.namespace}:*apq:${hash}`);
      } finally {
        client.disconnect();
      }
    };
    /** A document of its own for each test (nothing registered by another test). */
    const unique = (body = '{ __typename }') => `query Q${randomUUID().replaceAll('-', '')} ${body}`;

    beforeAll(async () => {
      gateway = await startGatewayOn(platform, {
        PERSISTED_QUERIES: 'apq',
        APQ_MAX_DOCUMENT_BYTES: '1024',
        APQ_REGISTRATIONS: '3/3600',
      });
      ada = await registerUser(platform);
    });
    afterAll(() => gateway?.stop());

    it('asks for the document on a miss, stores a signed-in caller’s in Redis, then runs it by its hash alone', async () => {
      const hash = sha256(MODELS);
      const miss = await persisted(gateway.url, hash, undefined, ada.headers);
      expect(codesOf(miss.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      const registered = await persisted(gateway.url, hash, MODELS, ada.headers);
      expect(registered.body.data).toEqual({ models: expect.any(Array) });

      const keys = await storedKeys(hash);
      expect(keys).toHaveLength(1);
      const client = redis();
      try {
        expect(await client.get(keys[0])).toBe(MODELS);
        expect(await client.ttl(keys[0])).toBeGreaterThan(0);
      } finally {
        client.disconnect();
      }
      // Anyone may then run it by its hash.
      const hit = await persisted(gateway.url, hash);
      expect(hit.body).toEqual(registered.body);
    });

    it('runs an anonymous caller’s document but stores nothing', async () => {
      const query = unique();
      const sent = await persisted(gateway.url, sha256(query), query);
      expect(sent.body.data).toEqual({ __typename: 'Query' });
      expect(await storedKeys(sha256(query))).toEqual([]);
      expect(codesOf((await persisted(gateway.url, sha256(query))).body)).toEqual([
        'PERSISTED_QUERY_NOT_FOUND',
      ]);
    });

    it('stores no document larger than APQ_MAX_DOCUMENT_BYTES, comments counted', async () => {
      const query = `${unique()}\n# ${'padding '.repeat(200)}`;
      const sent = await persisted(gateway.url, sha256(query), query, ada.headers);
      expect(sent.body.data).toEqual({ __typename: 'Query' });
      expect(await storedKeys(sha256(query))).toEqual([]);
    });

    it('stores at most APQ_REGISTRATIONS documents per caller and window', async () => {
      const brian = await registerUser(platform);
      const queries = Array.from({ length: 4 }, () => unique());
      for (const query of queries) {
        expect((await persisted(gateway.url, sha256(query), query, brian.headers)).body.data).toBeTruthy();
      }
      const stored = await Promise.all(
        queries.map(async (query) => (await storedKeys(sha256(query))).length),
      );
      expect(stored).toEqual([1, 1, 1, 0]);
    });

    it('registers a subscription sent in full with its hash once it opens, so that it streams by its hash alone', async () => {
      const subscription = `subscription S${randomUUID().replaceAll('-', '')} { generation(id: "${randomUUID()}") { seq } }`;
      const hash = sha256(subscription);
      const other = `subscription T${randomUUID().replaceAll('-', '')} { generation(id: "x") { seq } }`;
      const client = webSocketClient(gateway, ada.accessToken);
      try {
        // Anyone's generation but their own is NOT_FOUND: the subscription opened, then ended so.
        const first = await firstResultOf(client, subscription, {
          persistedQuery: { version: 1, sha256Hash: hash },
        });
        expect(first.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND' });
        // As over HTTP, a hash that is not the document's, or another version, is refused and registers nothing.
        for (const persistedQuery of [
          { version: 1, sha256Hash: sha256(`${other} `) },
          { version: 2, sha256Hash: sha256(other) },
        ]) {
          const refused = await firstResultOf(client, other, { persistedQuery });
          expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_REQUEST' });
        }
      } finally {
        await client.dispose();
      }
      await eventually(async () => expect(await storedKeys(hash)).toHaveLength(1));
      expect(await storedKeys(sha256(`${other} `))).toEqual([]);
      expect(await storedKeys(sha256(other))).toEqual([]);

      // Apollo Client's multipart link then sends the hash alone, and the stream is served from it.
      const byHash = await fetch(gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'multipart/mixed;subscriptionSpec="1.0", application/json',
          ...ada.headers,
        },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
      });
      expect(byHash.status).toBe(200);
      expect(byHash.headers.get('content-type')).toMatch(/^multipart\/mixed/);
      expect(await byHash.text()).toContain('NOT_FOUND');
    });

    it('finds the manifest’s operations by hash for anyone when PERSISTED_QUERIES_MANIFEST is set', async () => {
      const manifest = join(manifestDir, 'apq-manifest.json');
      await writeFile(manifest, JSON.stringify({ [sha256(TYPENAME)]: TYPENAME }));
      const withManifest = await startGatewayOn(platform, {
        PERSISTED_QUERIES: 'apq',
        PERSISTED_QUERIES_MANIFEST: manifest,
      });
      try {
        expect((await persisted(withManifest.url, sha256(TYPENAME))).body).toEqual({
          data: { __typename: 'Query' },
        });
      } finally {
        await withManifest.stop();
      }
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
