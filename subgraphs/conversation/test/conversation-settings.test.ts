import type { ConversationSettings } from '../../../common/records/conversation-settings.record';
import { PublishedModelCatalog } from '../../../common/stores/published-model-catalog';
import { createRedis } from '../../../common/stores/redis';
import { testServers } from '../../../common/testing/env';
import { errorCodes } from '../../../common/testing/graphql-client';
import { silentLogger } from '../../../common/testing/logger';
import { eventually } from '../../../common/testing/wait';
import { type Client, type Harness, dataOf, startConversationHarness } from '../testing/harness';

const SETTINGS =
  'settings { model systemPrompt temperature topP maxOutputTokens recallEnabled instructionsEnabled }';
const DEFAULTS = {
  model: null,
  systemPrompt: null,
  temperature: null,
  topP: null,
  maxOutputTokens: null,
  recallEnabled: true,
  instructionsEnabled: true,
};

type Created = { createConversation: { id: string; title: string; settings: ConversationSettings } };

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
    user.request<{ updateConversationSettings: { settings: ConversationSettings } }>(
      `mutation($id: ID!, $settings: ConversationSettingsInput!) {
        updateConversationSettings(id: $id, settings: $settings) { ${SETTINGS} }
      }`,
      { id, settings },
    );
  const read = async (user: Client, id: string) =>
    dataOf(
      await user.request<{ conversation: { settings: ConversationSettings } }>(
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
      instructionsEnabled: false,
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

  it('refuses a model the catalog chat published does not list, on create and update, storing nothing', async () => {
    const before = await count(alice);
    const refused = await create(alice, { title: 'Unknown', settings: { model: 'offline/nope' } });
    expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]).toMatchObject({
      message: 'Unknown model "offline/nope"; the models query lists the available ones',
      extensions: { field: 'settings.model' },
    });
    expect(await count(alice)).toBe(before);

    const { id } = dataOf(await create(alice, { settings: { model: 'offline/echo' } })).createConversation;
    const refusedUpdate = await update(alice, id, { model: 'nowhere/x', systemPrompt: 'Be brief.' });
    expect(errorCodes(refusedUpdate)).toEqual(['BAD_USER_INPUT']);
    expect(refusedUpdate.errors?.[0].extensions?.field).toBe('settings.model');
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, model: 'offline/echo' });

    // A served model named without its namespace is the first of that name, as chat reads it.
    dataOf(await update(alice, id, { model: 'echo' }));
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, model: 'echo' });
  });

  it("refuses maxOutputTokens above the model's output limit (the deployment's bounds every model's)", async () => {
    const { id } = dataOf(await create(alice, { settings: { maxOutputTokens: 2_048 } })).createConversation;
    for (const settings of [{ maxOutputTokens: 2_049 }, { model: 'offline/echo', maxOutputTokens: 4_096 }]) {
      const refused = await update(alice, id, settings);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0]).toMatchObject({
        message: 'maxOutputTokens must be at most 2048 for offline/echo',
        extensions: { field: 'settings.maxOutputTokens' },
      });
    }
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, maxOutputTokens: 2_048 });
  });

  it("neither reads nor changes another user's conversation", async () => {
    const { id } = dataOf(await create(alice, { settings: { temperature: 0.3 } })).createConversation;
    expect(errorCodes(await update(bob, id, { temperature: 1 }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await update(bob, 'not-an-id', { temperature: 1 }))).toEqual(['NOT_FOUND']);
    expect(await read(alice, id)).toEqual({ ...DEFAULTS, temperature: 0.3 });
  });
});

describe('instructions and presets', () => {
  let harness: Harness;
  let alice: Client;
  let bob: Client;

  const createPreset = (user: Client, input: Record<string, unknown>) =>
    user.request<{ createPreset: { id: string; name: string; settings: ConversationSettings } }>(
      `mutation($input: PresetInput!) { createPreset(input: $input) { id name ${SETTINGS} } }`,
      { input },
    );
  const presets = async (user: Client) =>
    dataOf(await user.request<{ presets: { id: string; name: string }[] }>(`{ presets { id name } }`, {}))
      .presets;
  const conversationCount = async (user: Client) =>
    (
      dataOf(
        await harness.conversationsOf<{ edges: unknown[] }>(user, 'edges { node { id } }', { first: 50 }),
      ) as { edges: unknown[] }
    ).edges.length;

  beforeAll(async () => {
    harness = await startConversationHarness('conversation_presets');
    alice = await harness.newUser();
    bob = await harness.newUser();
  });
  afterAll(() => harness?.stop());

  it("keeps each user's instructions, changing only the fields given", async () => {
    const read = async (user: Client) =>
      dataOf(
        await user.request<{ me: { instructions: { aboutMe: string; howToAnswer: string } } }>(
          `{ me { instructions { aboutMe howToAnswer } } }`,
          {},
        ),
      ).me.instructions;
    expect(await read(alice)).toEqual({ aboutMe: '', howToAnswer: '' });
    const update = (input: Record<string, unknown>) =>
      alice.request(
        `mutation($input: InstructionsInput!) { updateInstructions(input: $input) { aboutMe } }`,
        {
          input,
        },
      );
    dataOf(await update({ aboutMe: 'I live in Lisbon.\nI cook.' }));
    dataOf(await update({ howToAnswer: 'Briefly.' }));
    expect(await read(alice)).toEqual({ aboutMe: 'I live in Lisbon.\nI cook.', howToAnswer: 'Briefly.' });
    expect(await read(bob)).toEqual({ aboutMe: '', howToAnswer: '' });

    const refused = await update({ aboutMe: 'x'.repeat(4_001), howToAnswer: 'Never mind.' });
    expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0].extensions?.field).toBe('aboutMe');
    expect(await read(alice)).toEqual({ aboutMe: 'I live in Lisbon.\nI cook.', howToAnswer: 'Briefly.' });
  });

  it('creates a conversation from a preset, copying its settings', async () => {
    const preset = dataOf(
      await createPreset(alice, {
        name: ' Pirate ',
        settings: { systemPrompt: 'Arr.', temperature: 0.2, instructionsEnabled: false },
      }),
    ).createPreset;
    expect(preset).toMatchObject({ name: 'Pirate', settings: { systemPrompt: 'Arr.', temperature: 0.2 } });
    const created = dataOf(
      await alice.request<Created>(
        `mutation($input: CreateConversationInput) { createConversation(input: $input) { id title ${SETTINGS} } }`,
        { input: { presetId: preset.id, settings: { maxOutputTokens: 64 } } },
      ),
    ).createConversation;
    expect(created.settings).toEqual({
      ...DEFAULTS,
      systemPrompt: 'Arr.',
      temperature: 0.2,
      maxOutputTokens: 64,
      instructionsEnabled: false,
    });

    const renamed = await alice.request<{ updatePreset: { name: string; settings: ConversationSettings } }>(
      `mutation($id: ID!) { updatePreset(id: $id, input: { name: "Calm pirate", settings: { temperature: 0.1 } }) { name ${SETTINGS} } }`,
      { id: preset.id },
    );
    expect(dataOf(renamed).updatePreset).toMatchObject({
      name: 'Calm pirate',
      settings: { temperature: 0.1 },
    });
    expect(await presets(alice)).toEqual([{ id: preset.id, name: 'Calm pirate' }]);
  });

  it('refuses a model the catalog does not list in a preset, or over one, storing nothing', async () => {
    const { id } = dataOf(
      await createPreset(alice, { name: 'Echo', settings: { model: 'offline/echo' } }),
    ).createPreset;
    const refused = await alice.request(
      `mutation($id: ID!) { updatePreset(id: $id, input: { settings: { model: "offline/nope" } }) { id } }`,
      { id },
    );
    expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0].extensions?.field).toBe('settings.model');
    const stored = await alice.request<{ presets: { id: string; settings: ConversationSettings }[] }>(
      `{ presets { id ${SETTINGS} } }`,
      {},
    );
    expect(dataOf(stored).presets.find((preset) => preset.id === id)?.settings.model).toBe('offline/echo');

    const before = await conversationCount(alice);
    const fromPreset = await alice.request(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
      { input: { presetId: id, settings: { model: 'nowhere/x' } } },
    );
    expect(errorCodes(fromPreset)).toEqual(['BAD_USER_INPUT']);
    expect(fromPreset.errors?.[0].extensions?.field).toBe('settings.model');
    expect(await conversationCount(alice)).toBe(before);
  });

  it("refuses another user's preset as missing, and bad presets, storing nothing", async () => {
    const { id } = dataOf(await createPreset(alice, { name: 'Mine' })).createPreset;
    const before = await presets(alice);
    const bobsConversations = await conversationCount(bob);
    const fromForeign = await bob.request(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
      { input: { presetId: id } },
    );
    expect(errorCodes(fromForeign)).toEqual(['NOT_FOUND']);
    expect(await conversationCount(bob)).toBe(bobsConversations);
    expect(
      errorCodes(
        await bob.request(`mutation($id: ID!) { updatePreset(id: $id, input: { name: "Hers" }) { id } }`, {
          id,
        }),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(errorCodes(await bob.request(`mutation($id: ID!) { deletePreset(id: $id) }`, { id }))).toEqual([
      'NOT_FOUND',
    ]);
    expect(await presets(bob)).toEqual([]);

    for (const [field, input] of [
      ['name', { name: ' ' }],
      ['settings.topP', { name: 'Bad', settings: { topP: 2 } }],
      ['settings.model', { name: 'Unknown', settings: { model: 'offline/nope' } }],
    ] as const) {
      const refused = await createPreset(alice, input);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0].extensions?.field).toBe(field);
    }
    expect(await presets(alice)).toEqual(before);

    expect(dataOf(await alice.request(`mutation($id: ID!) { deletePreset(id: $id) }`, { id }))).toEqual({
      deletePreset: id,
    });
    expect((await presets(alice)).map((p) => p.id)).not.toContain(id);
  });
});

describe('settings against the published catalog, with no chat running', () => {
  let harness: Harness;
  let alice: Client;
  const redis = createRedis({ url: testServers().redisUrl, logger: silentLogger() });

  const modelOf = async (model: string) => {
    const created = await alice.request<Created>(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id title ${SETTINGS} } }`,
      { input: { settings: { model } } },
    );
    return { codes: errorCodes(created), stored: created.data?.createConversation.settings.model };
  };

  beforeAll(async () => {
    harness = await startConversationHarness('conversation_settings_catalog', { route: 'subgraph' });
    alice = await harness.newUser();
  });
  afterAll(async () => {
    redis.disconnect();
    await harness?.stop();
  });

  it('accepts any model while no catalog is published (chat checks it at the turn), and a model whose provider is down once one is', async () => {
    expect(await modelOf('lab/anything')).toEqual({ codes: [], stored: 'lab/anything' });

    await new PublishedModelCatalog(redis, harness.env.MODEL_CATALOG_KEY).publish(
      [
        {
          id: 'lab/sleepy',
          name: 'sleepy',
          provider: 'lab',
          maxOutputTokens: 1_024,
          maxTemperature: null,
          available: false,
          isDefault: false,
        },
      ],
      60_000,
    );
    await eventually(async () => expect((await modelOf('lab/anything')).codes).toEqual(['BAD_USER_INPUT']));
    expect(await modelOf('lab/sleepy')).toEqual({ codes: [], stored: 'lab/sleepy' });
  });
});
