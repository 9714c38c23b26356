import { errorCodes } from '../../../common/testing/graphql-client';
import { append, type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

const CREATE = `mutation($title: String) { createConversation(title: $title) { id title createdAt lastActivityAt } }`;
const PAGE = `edges { cursor node { id title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`;

interface ListPage {
  edges: { cursor: string; node: { id: string; title: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
}

const create = async (user: Client, title?: string) =>
  dataOf(await user.request<{ createConversation: { id: string; title: string } }>(CREATE, { title }))
    .createConversation;

describe('conversations', () => {
  let harness: Harness;
  const listPage = (user: Client, first: number, after?: string | null) =>
    harness.conversationsOf<ListPage>(user, PAGE, { first, after });
  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    harness = await startConversationHarness('conversations');
    alice = await harness.newUser();
    bob = await harness.newUser();
  });
  afterAll(() => harness?.stop());

  it('creates a conversation with a default or a given title, trimmed', async () => {
    expect((await create(alice)).title).toBe('New conversation');
    expect((await create(alice, '  Trip to Lisbon  ')).title).toBe('Trip to Lisbon');
  });

  it('renames and deletes a conversation', async () => {
    const { id } = await create(alice, 'Draft');
    const renamed = await alice.request(
      `mutation($id: ID!) { renameConversation(id: $id, title: "Final") { id title } }`,
      {
        id,
      },
    );
    expect(dataOf(renamed)).toEqual({ renameConversation: { id, title: 'Final' } });
    expect(dataOf(await alice.request(`mutation($id: ID!) { deleteConversation(id: $id) }`, { id }))).toEqual(
      {
        deleteConversation: id,
      },
    );
    const gone = await alice.request(`query($id: ID!) { conversation(id: $id) { id } }`, { id });
    expect(errorCodes(gone)).toEqual(['NOT_FOUND']);
  });

  it('renames only a conversation that exists, returning it as stored', async () => {
    const { id } = await create(alice, 'Draft');
    const RENAME = `mutation($id: ID!, $title: String!) {
      renameConversation(id: $id, title: $title) { id title createdAt updatedAt lastActivityAt }
    }`;
    const renamed = dataOf(
      await alice.request<{ renameConversation: Record<string, string> }>(RENAME, { id, title: ' Plans ' }),
    ).renameConversation;
    expect(renamed).toMatchObject({ id, title: 'Plans' });
    expect(Date.parse(renamed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(renamed.createdAt));
    const read = await alice.request(`query($id: ID!) { conversation(id: $id) { title lastActivityAt } }`, {
      id,
    });
    expect(dataOf(read)).toEqual({
      conversation: { title: 'Plans', lastActivityAt: renamed.lastActivityAt },
    });
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const response = await alice.request(RENAME, { id: missing, title: 'x' });
      expect(response.errors?.[0]).toMatchObject({
        message: 'Conversation not found',
        extensions: { code: 'NOT_FOUND' },
      });
    }
  });

  describe('User.conversations', () => {
    let carol: Client;
    const titles = ['c1', 'c2', 'c3', 'c4', 'c5'];

    beforeAll(async () => {
      carol = await harness.newUser();
      for (const title of titles) await create(carol, title);
    });

    it('pages through the list, most recently active first, with opaque cursors', async () => {
      const seen: string[] = [];
      let after: string | undefined;
      const pages: ListPage['pageInfo'][] = [];
      do {
        const page = dataOf(await listPage(carol, 2, after));
        seen.push(...page.edges.map((edge) => edge.node.title));
        pages.push(page.pageInfo);
        after = page.pageInfo.endCursor ?? undefined;
        if (!page.pageInfo.hasNextPage) break;
      } while (after);
      expect(seen).toEqual([...titles].reverse());
      expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
      expect(pages.map((p) => p.hasPreviousPage)).toEqual([false, true, true]);
    });

    it('stays stable when conversations are created between pages', async () => {
      const first = dataOf(await listPage(carol, 2));
      await create(carol, 'newer');
      const second = dataOf(await listPage(carol, 2, first.pageInfo.endCursor));
      expect(second.edges.map((edge) => edge.node.title)).toEqual(['c3', 'c2']);
    });

    it('moves a conversation to the top when a message is added to it', async () => {
      const oldest = dataOf(await listPage(carol, 100)).edges.at(-1)?.node;
      await append(harness, carol, { conversationId: oldest?.id, content: 'bump' });
      const top = dataOf(await listPage(carol, 1)).edges[0].node;
      expect(top).toEqual(oldest);
    });

    it("refuses to list another user's conversations (an entity fetch for another User)", async () => {
      const response = await harness
        .direct(bob)
        .request(
          `query($user: _Any!) { _entities(representations: [$user]) { ... on User { conversations(first: 5) { ${PAGE} } } } }`,
          { user: { __typename: 'User', id: carol.userId } },
        );
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    });

    it.each([0, 101])('refuses a page size of %i, naming the field', async (first) => {
      const response = await listPage(carol, first);
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    });

    it('refuses a cursor it did not make', async () => {
      const response = await listPage(carol, 2, 'not-a-cursor');
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    });
  });

  describe('owner-only access', () => {
    let secret: { id: string };
    let secretMessage: { id: string };

    beforeAll(async () => {
      secret = await create(alice, 'Alice only');
      secretMessage = await append(harness, alice, { conversationId: secret.id, content: 'my secret' });
    });

    it('answers NOT_FOUND for a foreign conversation, exactly as for a missing one', async () => {
      const foreign = await bob.request(`query($id: ID!) { conversation(id: $id) { id title } }`, {
        id: secret.id,
      });
      const missing = await bob.request(`query($id: ID!) { conversation(id: $id) { id title } }`, {
        id: '00000000-0000-4000-8000-000000000000',
      });
      const malformed = await bob.request(`query { conversation(id: "nope") { id } }`);
      for (const response of [foreign, missing, malformed]) {
        expect(errorCodes(response)).toEqual(['NOT_FOUND']);
        expect(response.errors?.[0].message).toBe('Conversation not found');
      }
    });

    it.each([
      ['rename', `mutation($id: ID!) { renameConversation(id: $id, title: "x") { id } }`],
      ['delete', `mutation($id: ID!) { deleteConversation(id: $id) }`],
      ['export', `query($id: ID!) { exportConversation(id: $id, format: JSON) { content } }`],
    ])('does not let another user %s it', async (_name, operation) => {
      expect(errorCodes(await bob.request(operation, { id: secret.id }))).toEqual(['NOT_FOUND']);
      const still = await alice.request(`query($id: ID!) { conversation(id: $id) { title } }`, {
        id: secret.id,
      });
      expect(dataOf(still)).toEqual({ conversation: { title: 'Alice only' } });
    });

    it('resolves foreign entities to null through _entities', async () => {
      const query = `query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Conversation { id title } ... on Message { id content }
      } }`;
      const representations = [
        { __typename: 'Conversation', id: secret.id },
        { __typename: 'Message', id: secretMessage.id },
      ];
      // The gateway sends entity fetches itself, signed for the user it serves.
      const asBob = harness.direct(bob);
      const asAlice = harness.direct(alice);
      expect(dataOf(await asBob.request(query, { r: representations }))._entities).toEqual([null, null]);
      expect(dataOf(await asAlice.request(query, { r: representations }))._entities).toEqual([
        { id: secret.id, title: 'Alice only' },
        { id: secretMessage.id, content: 'my secret' },
      ]);
    });

    it('asks an anonymous caller to sign in', async () => {
      const response = await harness.anonymous.request(`query($id: ID!) { conversation(id: $id) { id } }`, {
        id: secret.id,
      });
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('input limits', () => {
    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['too long', 'x'.repeat(201)],
    ])('refuses a title that is %s, naming the field', async (_case, title) => {
      const response = await alice.request(CREATE, { title });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'title' });
    });

    it('accepts a title of exactly 200 characters', async () => {
      expect((await create(alice, 'y'.repeat(200))).title).toHaveLength(200);
    });

    it('refuses a rename to an empty title', async () => {
      const { id } = await create(alice);
      const response = await alice.request(
        `mutation($id: ID!) { renameConversation(id: $id, title: "") { id } }`,
        { id },
      );
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'title' });
    });
  });

  describe('export', () => {
    let conversationId: string;
    let ids: string[];

    beforeAll(async () => {
      conversationId = (await create(alice, 'Pasta: a *guide*')).id;
      const question = await append(harness, alice, {
        conversationId,
        content: 'How long do I boil spaghetti?',
      });
      const first = await append(harness, alice, {
        conversationId,
        role: 'ASSISTANT',
        content: 'About 9 minutes.',
      });
      const regenerated = await append(harness, alice, {
        conversationId,
        parentId: question.id,
        role: 'ASSISTANT',
        content: 'Check the packet; usually 8 to 10 minutes.',
      });
      ids = [question.id, first.id, regenerated.id];
    });

    it('exports every branch as JSON, as a tree with the active leaf', async () => {
      const response = await alice.request<{
        exportConversation: { fileName: string; mimeType: string; content: string };
      }>(
        `query($id: ID!) { exportConversation(id: $id, format: JSON) { format fileName mimeType content } }`,
        { id: conversationId },
      );
      const exported = dataOf(response).exportConversation;
      expect(exported).toMatchObject({ fileName: 'pasta-a-guide.json', mimeType: 'application/json' });
      const json = JSON.parse(exported.content);
      expect(json).toMatchObject({
        version: 1,
        id: conversationId,
        title: 'Pasta: a *guide*',
        activeLeafId: ids[2],
      });
      expect(json.messages.map((m: { id: string; parentId: string | null }) => [m.id, m.parentId])).toEqual([
        [ids[0], null],
        [ids[1], ids[0]],
        [ids[2], ids[0]],
      ]);
    });

    it('exports the active branch as a Markdown transcript', async () => {
      const response = await alice.request<{
        exportConversation: { fileName: string; mimeType: string; content: string };
      }>(`query($id: ID!) { exportConversation(id: $id, format: MARKDOWN) { fileName mimeType content } }`, {
        id: conversationId,
      });
      const exported = dataOf(response).exportConversation;
      expect(exported).toMatchObject({ fileName: 'pasta-a-guide.md', mimeType: 'text/markdown' });
      expect(exported.content).toMatch(/^# Pasta: a \*guide\*\n/);
      expect(exported.content).toContain('## User\n\nHow long do I boil spaghetti?');
      expect(exported.content).toContain('## Assistant\n\nCheck the packet; usually 8 to 10 minutes.');
      expect(exported.content).not.toContain('About 9 minutes.');
      expect(exported.content).toContain('2 of 3 messages');
    });
  });
});
