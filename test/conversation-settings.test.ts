import { registerUser, type TestUser } from '../common/testing/auth';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { eventually } from '../common/testing/wait';
import {
  gemini as geminiChunks,
  openai,
  startLoopbackServer,
  type LoopbackServer,
} from '../subgraphs/chat/testing/loopback-llm';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * Issue 15, item 3, through the gateway: a conversation's settings reach the model exactly (the
 * loopback server speaks the OpenAI wire format and records each request), for a new message, an
 * edit and a regeneration alike; bad settings are coded errors and store nothing.
 */

const MODEL = 'loopback-model';
/** The default model's id, namespaced by the endpoint LLM_BASE_URL configures. */
const DEFAULT_MODEL_ID = `openai-compatible/${MODEL}`;
const SETTINGS = {
  model: MODEL,
  systemPrompt: 'You are a terse assistant.',
  temperature: 0.2,
  maxOutputTokens: 64,
  recallEnabled: false,
};

interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  temperature: number;
  max_tokens: number;
}

const reply = (text: string) => ({
  kind: 'sse' as const,
  events: [openai.text(text), openai.finish(), openai.usage(), openai.done],
});

/** A Gemini model (served by a second loopback server, in Gemini's wire format) with limits of its own. */
const GEMINI_MODEL = { name: 'gemini-lab', maxTemperature: 1, outputTokenLimit: 100 };

describe('conversation settings reach the model', () => {
  let llm: LoopbackServer;
  let gemini: LoopbackServer;
  let platform: TestPlatform;
  let ada: TestUser;

  const gql = <T>(query: string, variables: Record<string, unknown> = {}, user = ada) =>
    postGraphQL<T>(platform.gatewayUrl, query, variables, user.headers);
  const lastRequest = () => llm.requests[llm.requests.length - 1].body as ChatRequest;
  const messages = async (id: string) => {
    const { data } = await gql<{
      conversation: { messages: { edges: { node: { id: string; role: string; status: string } }[] } };
    }>(`query($id: ID!) { conversation(id: $id) { messages { edges { node { id role status } } } } }`, {
      id,
    });
    return data?.conversation.messages.edges.map((edge) => edge.node) ?? [];
  };
  const conversationIds = async (user = ada) => {
    const { data } = await gql<{ me: { conversations: { edges: { node: { id: string } }[] } } }>(
      `query { me { conversations(first: 100) { edges { node { id } } } } }`,
      {},
      user,
    );
    return data?.me.conversations.edges.map((edge) => edge.node.id);
  };
  const storedSettings = async (id: string) => {
    const { data } = await gql<{ conversation: { settings: Record<string, unknown> } }>(
      `query($id: ID!) { conversation(id: $id) { settings { model temperature maxOutputTokens } } }`,
      { id },
    );
    return data?.conversation.settings;
  };
  /** Waits until no reply in the conversation is still being written. */
  const settled = (id: string, count: number) =>
    eventually(async () => {
      const all = await messages(id);
      expect(all).toHaveLength(count);
      expect(all.filter((m) => m.status === 'STREAMING')).toEqual([]);
      return all;
    });
  const createConversation = async (settings: Record<string, unknown>) => {
    const created = await gql<{ createConversation: { id: string } }>(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
      { input: { title: 'Settings', settings } },
    );
    return created.data?.createConversation.id as string;
  };
  const send = (conversationId: string, content: string) =>
    gql<{ sendMessage: { generation: { id: string } } }>(
      `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`,
      { input: { conversationId, content } },
    );

  beforeAll(async () => {
    llm = await startLoopbackServer();
    // The catalog discovers the model from the server's own listing (GET /v1/models).
    llm.serveModels(MODEL);
    gemini = await startLoopbackServer();
    gemini.serveModels(GEMINI_MODEL);
    platform = await startTestPlatform('conversation-settings', {
      env: { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: `${llm.url}/v1`, LLM_MODEL: MODEL },
      // Gemini for chat alone: the conversation subgraph would embed with it too.
      serviceEnv: { chat: { GEMINI_API_KEY: 'gemini-test-key', GEMINI_BASE_URL: gemini.url } },
    });
    ada = await registerUser(platform);
  });
  afterAll(async () => {
    await platform?.stop();
    await llm?.close();
    await gemini?.close();
  });

  it('sends the system prompt first, with the temperature and output limit, on send, edit and regenerate', async () => {
    const id = await createConversation(SETTINGS);
    const expected = {
      model: MODEL,
      temperature: 0.2,
      max_tokens: 64,
      messages: [{ role: 'system', content: SETTINGS.systemPrompt }, expect.anything()],
    };

    llm.enqueue(reply('Hello.'));
    expect(errorCodes(await send(id, 'Hi there'))).toEqual([]);
    const [userMessage, assistant] = await settled(id, 2);
    expect(lastRequest()).toMatchObject(expected);
    expect(lastRequest().messages[1]).toEqual({ role: 'user', content: 'Hi there' });

    llm.enqueue(reply('Hello again.'));
    const regenerated = await gql(`mutation($id: ID!) { regenerate(messageId: $id) { id } }`, {
      id: assistant.id,
    });
    expect(errorCodes(regenerated)).toEqual([]);
    await settled(id, 2);
    expect(lastRequest()).toMatchObject(expected);

    llm.enqueue(reply('Edited.'));
    const edited = await gql(
      `mutation($id: ID!) { editMessage(messageId: $id, content: "Hi, edited") { generation { id } } }`,
      { id: userMessage.id },
    );
    expect(errorCodes(edited)).toEqual([]);
    await settled(id, 2);
    expect(lastRequest()).toMatchObject(expected);
    expect(lastRequest().messages[1]).toEqual({ role: 'user', content: 'Hi, edited' });
  });

  it("sends, regenerates and edits with the conversation's model, not the default, and with another model only when the call names it", async () => {
    const conversationModel = `gemini/${GEMINI_MODEL.name}`;
    const id = await createConversation({ model: conversationModel, temperature: 0.2, maxOutputTokens: 64 });
    const geminiReply = (text: string) => ({ kind: 'sse' as const, events: [geminiChunks.finish(text)] });
    const generateUrl = `/v1beta/models/${GEMINI_MODEL.name}:streamGenerateContent?alt=sse`;
    const sentToDefault = llm.requests.length;
    /** The request the turn made went to the Gemini server for the conversation's model, none to the default's. */
    const expectConversationModel = (generation: { model: string } | undefined, requests: number) => {
      expect(generation?.model).toBe(conversationModel);
      expect(gemini.requests).toHaveLength(requests);
      expect(gemini.requests.at(-1)).toMatchObject({
        url: generateUrl,
        body: { generationConfig: { temperature: 0.2, maxOutputTokens: 64 } },
      });
      expect(llm.requests).toHaveLength(sentToDefault);
    };
    const geminiRequestsBefore = gemini.requests.length;

    gemini.enqueue(geminiReply('Hello from Gemini.'));
    const sent = await gql<{ sendMessage: { generation: { model: string } } }>(
      `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { model } } }`,
      { input: { conversationId: id, content: 'Hi there' } },
    );
    expect(errorCodes(sent)).toEqual([]);
    const [userMessage, assistant] = await settled(id, 2);
    expectConversationModel(sent.data?.sendMessage.generation, geminiRequestsBefore + 1);

    gemini.enqueue(geminiReply('Hello again from Gemini.'));
    const regenerated = await gql<{ regenerate: { model: string } }>(
      `mutation($id: ID!) { regenerate(messageId: $id) { model } }`,
      { id: assistant.id },
    );
    expect(errorCodes(regenerated)).toEqual([]);
    await settled(id, 2);
    expectConversationModel(regenerated.data?.regenerate, geminiRequestsBefore + 2);

    gemini.enqueue(geminiReply('Edited, from Gemini.'));
    const edited = await gql<{ editMessage: { generation: { model: string } } }>(
      `mutation($id: ID!) { editMessage(messageId: $id, content: "Hi, edited") { generation { model } } }`,
      { id: userMessage.id },
    );
    expect(errorCodes(edited)).toEqual([]);
    await settled(id, 2);
    expectConversationModel(edited.data?.editMessage.generation, geminiRequestsBefore + 3);

    // The call names the default model: this turn goes to it, and the conversation keeps its own.
    llm.enqueue(reply('From the default model.'));
    const overridden = await gql<{ sendMessage: { generation: { model: string } } }>(
      `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { model } } }`,
      { input: { conversationId: id, content: 'And you?', model: DEFAULT_MODEL_ID } },
    );
    expect(errorCodes(overridden)).toEqual([]);
    await settled(id, 4);
    expect(overridden.data?.sendMessage.generation.model).toBe(DEFAULT_MODEL_ID);
    expect(llm.requests).toHaveLength(sentToDefault + 1);
    expect(lastRequest().model).toBe(MODEL);
    expect(gemini.requests).toHaveLength(geminiRequestsBefore + 3);
  });

  it('sends no system message when the conversation has none, and no recalled message when recall is off', async () => {
    const id = await createConversation({ ...SETTINGS, systemPrompt: '' });
    llm.enqueue(reply('Fine.'));
    const sent = await send(id, 'Hi there again');
    await settled(id, 2);
    const generation = await gql<{ generation: { context: { recalled: unknown[] } } }>(
      `query($id: ID!) { generation(id: $id) { context { recalled { score } } } }`,
      { id: sent.data?.sendMessage.generation.id },
    );
    expect(generation.data?.generation.context.recalled).toEqual([]);
    const body = lastRequest();
    expect(body.messages.map((m) => m.role)).toEqual(['user']);
    expect(JSON.stringify(body)).not.toContain('other conversations');
  });

  it("puts the user's instructions after the system prompt, unless the conversation turns them off", async () => {
    const user = await registerUser(platform);
    await gql(
      `mutation { updateInstructions(input: { aboutMe: "I live in Lisbon.", howToAnswer: "In Portuguese." }) { aboutMe } }`,
      {},
      user,
    );
    const systemOf = async (settings: Record<string, unknown>) => {
      const created = await gql<{ createConversation: { id: string } }>(
        `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
        { input: { title: 'Instructions', settings } },
        user,
      );
      const id = created.data?.createConversation.id as string;
      llm.enqueue(reply('Olá.'));
      await gql(
        `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`,
        { input: { conversationId: id, content: 'Hello' } },
        user,
      );
      await eventually(async () => {
        const { data } = await gql<{ conversation: { messages: { edges: { node: { status: string } }[] } } }>(
          `query($id: ID!) { conversation(id: $id) { messages { edges { node { status } } } } }`,
          { id },
          user,
        );
        expect(data?.conversation.messages.edges.map((edge) => edge.node.status)).toEqual([
          'COMPLETE',
          'COMPLETE',
        ]);
      });
      return lastRequest().messages[0];
    };
    expect(await systemOf(SETTINGS)).toEqual({
      role: 'system',
      content: `${SETTINGS.systemPrompt}\n\nAbout the user:\nI live in Lisbon.\n\nHow the user wants you to answer:\nIn Portuguese.`,
    });
    expect(await systemOf({ ...SETTINGS, instructionsEnabled: false })).toEqual({
      role: 'system',
      content: SETTINGS.systemPrompt,
    });
  });

  it('refuses bad settings with a coded error naming the field, and stores nothing', async () => {
    const id = await createConversation(SETTINGS);
    const update = (settings: Record<string, unknown>) =>
      gql(
        `mutation($id: ID!, $settings: ConversationSettingsInput!) {
          updateConversationSettings(id: $id, settings: $settings) { id }
        }`,
        { id, settings },
      );
    // Ranges every model shares, then what the model catalog chat publishes says of this deployment's
    // models: the unknown one, and an output limit above the deployment's (LLM_MAX_OUTPUT_TOKENS).
    for (const [field, settings] of [
      ['settings.temperature', { temperature: 3 }],
      ['settings.model', { model: 'no-such-model' }],
      ['settings.model', { model: 'openai-compatible/no-such-model' }],
      ['settings.maxOutputTokens', { maxOutputTokens: 60_000 }],
    ] as const) {
      const refused = await update(settings);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0].extensions?.field).toBe(field);
    }
    expect(await storedSettings(id)).toEqual({ model: MODEL, temperature: 0.2, maxOutputTokens: 64 });
    expect(await messages(id)).toEqual([]);

    // A message for an unknown model, in this conversation or in a new one: neither is stored.
    const conversationsBefore = await conversationIds();
    for (const conversationId of [id, null]) {
      const refusedSend = await gql(
        `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`,
        { input: { conversationId, content: 'Hi', model: 'no-such-model' } },
      );
      expect(errorCodes(refusedSend)).toEqual(['BAD_USER_INPUT']);
      expect(refusedSend.errors?.[0].extensions?.field).toBe('model');
    }
    expect(await messages(id)).toEqual([]);
    expect(await conversationIds()).toEqual(conversationsBefore);

    const refusedCreate = await gql(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
      { input: { title: 'Unknown', settings: { model: 'no-such-model' } } },
    );
    expect(errorCodes(refusedCreate)).toEqual(['BAD_USER_INPUT']);
    expect(refusedCreate.errors?.[0].extensions?.field).toBe('settings.model');

    const other = await registerUser(platform);
    const foreign = await gql(
      `mutation($id: ID!) { updateConversationSettings(id: $id, settings: { temperature: 1 }) { id } }`,
      { id },
      other,
    );
    expect(errorCodes(foreign)).toEqual(['NOT_FOUND']);
  });

  it("checks a temperature and an output limit against the chosen model's own when they are saved", async () => {
    const id = await createConversation(SETTINGS);
    const update = (settings: Record<string, unknown>) =>
      gql<{ updateConversationSettings: { settings: Record<string, unknown> } }>(
        `mutation($id: ID!, $settings: ConversationSettingsInput!) {
          updateConversationSettings(id: $id, settings: $settings) { settings { model temperature maxOutputTokens } }
        }`,
        { id, settings },
      );
    const model = `gemini/${GEMINI_MODEL.name}`;
    for (const [field, message, settings] of [
      [
        'settings.temperature',
        `temperature must be at most 1 for ${model}`,
        { model, temperature: 1.5, maxOutputTokens: 100 },
      ],
      [
        'settings.maxOutputTokens',
        `maxOutputTokens must be at most 100 for ${model}`,
        { model, maxOutputTokens: 101 },
      ],
    ] as const) {
      const refused = await update(settings);
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0]).toMatchObject({ message, extensions: { field } });
    }
    expect(await storedSettings(id)).toEqual({ model: MODEL, temperature: 0.2, maxOutputTokens: 64 });
    // A temperature the default (OpenAI-compatible) model takes: switching to the Gemini one is refused.
    expect(errorCodes(await update({ temperature: 1.5 }))).toEqual([]);
    expect(errorCodes(await update({ model }))).toEqual(['BAD_USER_INPUT']);
    expect(await storedSettings(id)).toEqual({ model: MODEL, temperature: 1.5, maxOutputTokens: 64 });

    const accepted = await update({ model, temperature: 1, maxOutputTokens: 100 });
    expect(errorCodes(accepted)).toEqual([]);
    expect(accepted.data?.updateConversationSettings.settings).toEqual({
      model,
      temperature: 1,
      maxOutputTokens: 100,
    });
  });
});
