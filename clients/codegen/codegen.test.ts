import { once } from 'node:events';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { spawnTypeScript } from '../../common/testing/typescript-process';
import { loadSafelist } from '../../gateway/plugins/persisted-queries';
import { operationText } from '../chat-client/operation';
import * as generated from '../generated/graphql';
import { operationDocuments } from './documents';
import { CODEGEN_FILES } from './files';

const ROOT = projectRoot();

/** `npm run codegen -- --check` in `cwd`: its exit code and what it printed. */
async function checkGenerated(cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawnTypeScript(join(__dirname, 'main.ts'), ['--check'], { cwd });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

const readJson = async (path: string) => JSON.parse(await readFile(join(ROOT, path), 'utf8')) as unknown;

describe('the generated client files', () => {
  test('are what codegen makes of clients/operations and the supergraph now (else run `npm run codegen`)', async () => {
    const { code, output } = await checkGenerated(ROOT);

    expect(output).toContain('clients/generated is up to date');
    expect(code).toBe(0);
  });

  test('are reported stale, by name, once an operation changes', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'codegen-'));
    try {
      await mkdir(join(copy, 'schema'));
      await cp(join(ROOT, CODEGEN_FILES.supergraph), join(copy, CODEGEN_FILES.supergraph));
      for (const dir of [CODEGEN_FILES.operationsDir, 'clients/generated']) {
        await cp(join(ROOT, dir), join(copy, dir), { recursive: true });
      }
      await appendFile(
        join(copy, CODEGEN_FILES.operationsDir, 'auth.graphql'),
        '\nquery MyId { me { id } }\n',
      );

      const { code, output } = await checkGenerated(copy);

      expect(code).toBe(1);
      expect(output).toContain(
        `Stale generated client files (run \`npm run codegen\`):\n  ${CODEGEN_FILES.types}`,
      );
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('the persisted-operations manifest', () => {
  test('holds every typed document under the sha256 of the exact text the client sends, and nothing else', async () => {
    const documents = operationDocuments(generated);
    const manifest = await readJson(CODEGEN_FILES.persistedOperations);

    expect(documents.length).toBeGreaterThan(10);
    expect(manifest).toEqual(
      Object.fromEntries(
        documents.map((document) => [operationText(document).sha256Hash, operationText(document).query]),
      ),
    );
  });

  test("loads as the gateway's safelist", () => {
    const safelist = loadSafelist(join(ROOT, CODEGEN_FILES.persistedOperations));

    expect(safelist.get(operationText(generated.SendMessageDocument).sha256Hash)).toBe(
      operationText(generated.SendMessageDocument).query,
    );
    expect(safelist.has(operationText(generated.GenerationEventsDocument).sha256Hash)).toBe(true);
  });
});

interface PostmanRequest {
  name: string;
  event: { listen: string; script: { exec: string[] } }[];
  request: {
    method: string;
    auth?: { type: string };
    body: { mode: string; graphql: { query: string; variables: string } };
    url: { raw: string };
  };
}

interface PostmanCollection {
  info: { schema: string };
  auth: { type: string; bearer: { key: string; value: string }[] };
  variable: { key: string; value: string }[];
  item: { name: string; item: PostmanRequest[] }[];
}

describe('the Postman collection', () => {
  let collection: PostmanCollection;
  let requests: Map<string, PostmanRequest>;
  beforeAll(async () => {
    collection = (await readJson(CODEGEN_FILES.postmanCollection)) as PostmanCollection;
    requests = new Map(collection.item.flatMap((folder) => folder.item).map((item) => [item.name, item]));
  });

  test('is a v2.1 collection with a folder per operations file and the base URL and tokens as variables', () => {
    expect(collection.info.schema).toBe(
      'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    );
    expect(collection.item.map((folder) => folder.name)).toEqual(['Auth', 'Chat', 'Conversations', 'Memory']);
    expect(collection.variable.map((variable) => variable.key)).toEqual(
      expect.arrayContaining(['baseUrl', 'accessToken', 'refreshToken']),
    );
    expect(collection.auth).toEqual({
      type: 'bearer',
      bearer: [expect.objectContaining({ value: '{{accessToken}}' })],
    });
  });

  test('has a GraphQL request, with example variables, for every query and mutation (subscriptions need a socket)', () => {
    const expected = operationDocuments(generated)
      .map((document) => operationText(document))
      .filter((text) => text.kind !== 'subscription');

    expect([...requests.keys()].sort()).toEqual(expected.map((text) => text.operationName).sort());
    for (const text of expected) {
      const { request } = requests.get(text.operationName) as PostmanRequest;
      expect(request).toMatchObject({ method: 'POST', url: { raw: '{{baseUrl}}/graphql' } });
      expect(request.body).toEqual({
        mode: 'graphql',
        graphql: { query: text.query, variables: expect.any(String) },
      });
      expect(() => JSON.parse(request.body.graphql.variables) as unknown).not.toThrow();
    }
  });

  test('signs in without a token, and the login request stores the new tokens for the others', () => {
    const login = requests.get('Login') as PostmanRequest;

    expect(login.request.auth).toEqual({ type: 'noauth' });
    const script = login.event.find((event) => event.listen === 'test')?.script.exec.join('\n') ?? '';
    expect(script).toContain('pm.collectionVariables.set("accessToken", result.accessToken)');
    expect(script).toContain('pm.collectionVariables.set("refreshToken", result.refreshToken)');
    expect(requests.get('Me')?.request.auth).toBeUndefined();
    expect(JSON.parse(requests.get('RefreshToken')?.request.body.graphql.variables ?? '')).toEqual({
      token: '{{refreshToken}}',
    });
  });

  test('runs its login script as Postman would, storing the tokens of the answer', () => {
    const variables = new Map<string, string>();
    const pm = {
      response: {
        json: () => ({
          data: { login: { accessToken: 'an-access-token', refreshToken: 'a-refresh-token' } },
        }),
      },
      collectionVariables: { set: (key: string, value: string) => variables.set(key, value) },
    };
    const script = requests.get('Login')?.event[0].script.exec.join('\n') ?? '';

    new Function('pm', script)(pm);

    expect(Object.fromEntries(variables)).toEqual({
      accessToken: 'an-access-token',
      refreshToken: 'a-refresh-token',
    });
  });
});
