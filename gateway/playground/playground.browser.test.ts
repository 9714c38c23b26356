import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { projectRoot } from '../../common/config/paths';
import { registerUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';

/** Debian's Chromium (`apt-get install -y chromium`); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const SCREENSHOT = join(projectRoot(), 'test-results', 'playground-generation.png');

const EDITORS = {
  query: '.graphiql-query-editor .CodeMirror',
  variables: '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
  result: '.result-window .CodeMirror',
};

/** An editor's element in the page: GraphiQL 3's editors are CodeMirror 5 instances. */
interface CodeMirrorElement {
  CodeMirror: { getValue(): string; setValue(value: string): void };
}

/** The page's document, in the functions Playwright runs there (this project has no DOM types). */
declare const document: { querySelector(selector: string): unknown };

const editorText = (page: Page, editor: keyof typeof EDITORS) =>
  page.$eval(EDITORS[editor], (element) => (element as CodeMirrorElement).CodeMirror.getValue());

const setEditorText = (page: Page, editor: keyof typeof EDITORS, text: string) =>
  page.$eval(
    EDITORS[editor],
    (element, value) => (element as CodeMirrorElement).CodeMirror.setValue(value),
    text,
  );

interface Result {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * Waits until the result editor shows a result that `accept` takes, and returns it. A result
 * with errors that it does not take fails the test at once, with the errors.
 */
async function resultWhere<R extends Result>(page: Page, accept: (result: R) => boolean): Promise<R> {
  let seen = '';
  for (;;) {
    const changed = await page.waitForFunction(
      ([selector, previous]) => {
        const text = (document.querySelector(selector) as CodeMirrorElement | null)?.CodeMirror.getValue();
        return text && text !== previous ? text : undefined;
      },
      [EDITORS.result, seen] as const,
    );
    seen = (await changed.jsonValue()) as string;
    const result = JSON.parse(seen) as R;
    if (accept(result)) return result;
    if (result.errors) throw new Error(`The playground shows errors: ${JSON.stringify(result.errors)}`);
  }
}

async function runTab(page: Page, name: string, variables?: unknown): Promise<void> {
  await page.locator('.graphiql-tab-button', { hasText: new RegExp(`^${name}$`) }).click();
  // The operation's name, then its variables or (with none) its selection.
  await page.waitForFunction(
    ([selector, named]) => {
      const text = (document.querySelector(selector) as CodeMirrorElement | null)?.CodeMirror.getValue();
      return text?.includes(`${named}(`) || text?.includes(`${named} {`);
    },
    [EDITORS.query, ` ${name}`] as const,
  );
  if (variables !== undefined) await setEditorText(page, 'variables', JSON.stringify(variables, null, 2));
  await page.locator('.graphiql-execute-button').click();
}

interface EventResult extends Result {
  data?: { generation: { seq: number; type: string; delta: string | null } };
}

const chromiumInstalled = existsSync(CHROMIUM);
const SKIPPED = `skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium, or set CHROMIUM_PATH`;
// Jest names skipped tests only in verbose runs; this says why in every run.
if (!chromiumInstalled) process.stderr.write(`playground browser test ${SKIPPED}\n`);

(chromiumInstalled ? describe : describe.skip)(
  chromiumInstalled ? 'the playground in Chromium' : `the playground in Chromium (${SKIPPED})`,
  () => {
    let platform: TestPlatform;
    let browser: Browser;
    beforeAll(async () => {
      // A steady pace, so that tokens are seen arriving one after another.
      platform = await startTestPlatform('playground-browser', { env: { OFFLINE_TOKEN_INTERVAL_MS: '40' } });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    });
    afterAll(async () => {
      await browser?.close();
      await platform?.stop();
    });

    test('logs in, sends a message and watches the generation subscription stream its tokens', async () => {
      const user = await registerUser(platform, { displayName: 'Browser Bea' });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(platform.gatewayUrl);
      expect(await editorText(page, 'query')).toContain('mutation Register(');

      await runTab(page, 'Login', { input: { email: user.email, password: user.password } });
      const login = await resultWhere<Result & { data?: { login: { user: { displayName: string } } } }>(
        page,
        (r) => !!r.data,
      );
      expect(login.data?.login.user.displayName).toBe('Browser Bea');

      await runTab(page, 'SendMessage', { input: { content: 'What is a subscription?' } });
      const sent = await resultWhere<Result & { data?: { sendMessage: { generation: { id: string } } } }>(
        page,
        (r) => !!r.data,
      );
      const generationId = sent.data?.sendMessage.generation.id as string;

      await runTab(page, 'GenerationEvents', { id: generationId, after: 0 });
      const first = await resultWhere<EventResult>(page, (r) => r.data?.generation.type === 'TOKEN');
      const later = await resultWhere<EventResult>(
        page,
        (r) =>
          r.data?.generation.type === 'TOKEN' && r.data.generation.seq > (first.data?.generation.seq ?? 0),
      );
      await mkdir(join(projectRoot(), 'test-results'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      const done = await resultWhere<EventResult>(page, (r) => r.data?.generation.type === 'DONE');

      expect(first.data?.generation.delta).toEqual(expect.any(String));
      expect(later.data?.generation.delta).toEqual(expect.any(String));
      expect(done.data?.generation.seq).toBeGreaterThan(later.data?.generation.seq ?? 0);
      expect(existsSync(SCREENSHOT)).toBe(true);
      expect(pageErrors).toEqual([]);
    });

    test('the settings tabs list the models, make a preset and start a conversation from it', async () => {
      const user = await registerUser(platform);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(platform.gatewayUrl);
      await runTab(page, 'Login', { input: { email: user.email, password: user.password } });
      await resultWhere(page, (r) => !!r.data);

      await runTab(page, 'Models');
      const models = await resultWhere<Result & { data?: { models: { id: string; isDefault: boolean }[] } }>(
        page,
        (r) => !!r.data?.models,
      );
      expect(models.data?.models).toContainEqual(
        expect.objectContaining({ id: 'offline/echo', isDefault: true }),
      );

      await runTab(page, 'CreatePreset');
      const preset = await resultWhere<Result & { data?: { createPreset: { id: string } } }>(
        page,
        (r) => !!r.data?.createPreset,
      );
      await runTab(page, 'CreateConversation', {
        input: { presetId: preset.data?.createPreset.id, settings: { temperature: 0.4 } },
      });
      const created = await resultWhere<Result & { data?: { createConversation: { settings: unknown } } }>(
        page,
        (r) => !!r.data?.createConversation,
      );
      expect(created.data?.createConversation.settings).toMatchObject({
        systemPrompt: 'Answer in one sentence.',
        temperature: 0.4,
      });
    });

    test('an Authorization header set in the Headers pane is sent instead of the remembered token', async () => {
      const user = await registerUser(platform);
      const page = await browser.newPage();
      await page.goto(platform.gatewayUrl);
      await runTab(page, 'Login', { input: { email: user.email, password: user.password } });
      await resultWhere(page, (r) => !!r.data);

      await page.locator('.graphiql-tab-button', { hasText: /^SearchMessages$/ }).click();
      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      await setEditorText(page, 'variables', JSON.stringify({ Authorization: 'Bearer not-a-token' }));
      await page.locator('.graphiql-execute-button').click();

      const refused = await resultWhere(page, (r) => !!r.errors);
      expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });
  },
);
