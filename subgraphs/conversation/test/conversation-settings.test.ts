import { errorCodes } from '../../../common/testing/graphql-client';
import { type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

const SETTINGS = 'settings { model systemPrompt temperature topP maxOutputTokens recallEnabled }';
const DEFAULTS = {
  model: null,
  systemPrompt: null,
  temperature: null,
  topP: null,
  maxOutputTokens: null,
  recallEnabled: true,
};

interface Settings {
  model: string | null;
  systemPrompt: string | null;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  recallEnabled: boolean;
}
type Created = { createConversation: { id: string; title: string; settings: Settings } };

describe('conversation settings', () => {
  let harness: Harness;
  let alice: Client;
  let bob: Client;

  const create = (user: Client, input: Record<string, unknown>) =>
    user.request<Created>(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id title ${SETTINGS} } }`,
      { input },
    );
  const update = (user: Client, id: string, settings: Record<string, unknown>) =>
    user.request<{ updateConversationSettings: { settings: Settings } }>(
      `mutation($id: ID!, $settings: ConversationSettingsInput!) {
        updateConversationSettings(id: $id, settings: $settings) { ${SETTINGS} }
      }`,
      { id, settings },
    );
  const read = async (user: Client, id: string) =>
    dataOf(
      await user.request<{ conversation: { settings: Settings } }>(
        `query($id: ID!) { conversation(id: $id) { ${SETTINGS} } }`,
        { id },
      ),
    ).conversation.settings;
  const count = async (user: Client) =>
    (
      dataOf(
        await harness.conversationsOf<{ edges: unknown[] }>(user, 'edges { node { id } }', { first: 50 }),
      ) as { edges: unknown[] }
    ).edges.length;

  beforeAll(async () => {
    harness = await startConversationHarness('conversation_settings');
    alice = await harness.newUser();
    bob = await harness.newUser();
  });
  afterAll(() => harness?.stop());

  it('starts with the defaults, through the older title-only form too', async () => {
    const created = dataOf(
      await alice.request<Created>(
        `mutation { createConversation(title: "Plain") { id title ${SETTINGS} } }`,
        {},
      ),
    ).createConversation;
    expect(created).toMatchObject({ title: 'Plain', settings: DEFAULTS });
  });

  it('stores the settings a conversation is created with', async () => {
    const settings = {
      model: 'offline/echo',
      systemPrompt: 'Answer like a pirate.',
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 64,
      recallEnabled: false,
    };
    const { id, title } = dataOf(await create(alice, { title: 'Pirate', settings })).createConversation;
    expect(title).toBe('Pirate');
    expect(await read(alice, id)).toEqual(settings);
  });

  it('changes only the fields given, and null goes back to the default', async () => {
    const { id } = dataOf(
      await create(alice, { settings: { temperature: 1.5, systemPrompt: 'Be brief.' } }),
    ).createConversation;
    await read(alice, id); // cached now: the update must retire it
    const changed = dataOf(await update(alice, id, { topP: 0.5, systemPrompt: '' }));
    expect(changed.updateConversationSettings.settings).toEqual({
      ...DEFAULTS,
      temperature: 1.5,
      topP: 0.5,
      systemPrompt: '',
    });
    dataOf(await update(alice, id, { temperature: null }));
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, topP: 0.5, systemPrompt: '' });
  });

  it.each([
    ['temperature', { temperature: 2.5 }],
    ['temperature', { temperature: -0.1 }],
    ['topP', { topP: 1.01 }],
    ['maxOutputTokens', { maxOutputTokens: 0 }],
    ['systemPrompt', { systemPrompt: 'x'.repeat(8_001) }],
    ['model', { model: ' ' }],
  ])('refuses %s out of range, naming it, and stores nothing', async (field, settings) => {
    const before = await count(alice);
    const refused = await create(alice, { title: 'Refused', settings });
    expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0].extensions?.field).toBe(`settings.${field}`);
    expect(await count(alice)).toBe(before);

    const { id } = dataOf(await create(alice, { settings: { temperature: 1 } })).createConversation;
    const refusedUpdate = await update(alice, id, { ...settings, recallEnabled: false });
    expect(errorCodes(refusedUpdate)).toEqual(['BAD_USER_INPUT']);
    expect(refusedUpdate.errors?.[0].extensions?.field).toBe(`settings.${field}`);
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, temperature: 1 });
  });

  it("neither reads nor changes another user's conversation", async () => {
    const { id } = dataOf(await create(alice, { settings: { temperature: 0.3 } })).createConversation;
    expect(errorCodes(await update(bob, id, { temperature: 1 }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await update(bob, 'not-an-id', { temperature: 1 }))).toEqual(['NOT_FOUND']);
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, temperature: 0.3 });
  });
});
