import { registerUser, type TestUser } from '../common/testing/auth';
import { errorCodes, postGraphQL } from '../common/testing/graphql-client';
import { eventually } from '../common/testing/wait';
import { openai, startLoopbackServer, type LoopbackServer } from '../subgraphs/chat/testing/loopback-llm';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * Issue 15, items 5 and 6, through the gateway: what goes into the prompt, in order (system prompt,
 * instructions, memories), reaches the model exactly as `Generation.context` lists it; a forgotten
 * memory is never sent again; with recall off, for the user or for one conversation, no recalled text
 * reaches the model, where the same search with it on does. The loopback server speaks the OpenAI
 * wire format and records each request.
 */

const MODEL = 'loopback-model';
const RECALL_HEADING = "Excerpts from the user's other conversations";

interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  temperature: number;
  top_p?: number;
  max_tokens: number;
  stream?: boolean;
}

interface Context {
  instructions: { aboutMe: string; howToAnswer: string } | null;
  memories: { id: string; text: string }[];
  recalled: { score: number; message: { id: string } }[];
}

const reply = (text: string) => ({
  kind: 'sse' as const,
  events: [openai.text(text), openai.finish(), openai.usage(), openai.done],
});

describe('memories and instructions in the prompt', () => {
  let llm: LoopbackServer;
  let platform: TestPlatform;
  let ada: TestUser;

  const gql = <T>(query: string, variables: Record<string, unknown> = {}, user = ada) =>
    postGraphQL<T>(platform.gatewayUrl, query, variables, user.headers);
  /** The streamed request that carried `content` as its newest user turn (titles are asked apart). */
  const requestFor = (content: string) =>
    llm.requests
      .map((request) => request.body as ChatRequest)
      .filter((body) => body.stream && body.messages.at(-1)?.content === content)
      .at(-1);
  const createConversation = async (settings: Record<string, unknown>, user = ada) => {
    const created = await gql<{ createConversation: { id: string } }>(
      `mutation($input: CreateConversationInput) { createConversation(input: $input) { id } }`,
      { input: { title: 'Memories', settings } },
      user,
    );
    return created.data?.createConversation.id as string;
  };
  /** Sends, waits for the reply to be saved, and answers the generation's context and the request sent. */
  const turn = async (conversationId: string | null, content: string, user = ada) => {
    llm.enqueue(reply('Noted.'));
    const sent = await gql<{ sendMessage: { generation: { id: string } } }>(
      `mutation($input: SendMessageInput!) { sendMessage(input: $input) { generation { id } } }`,
      { input: { conversationId, content } },
      user,
    );
    expect(errorCodes(sent)).toEqual([]);
    const generationId = sent.data?.sendMessage.generation.id;
    const context = await eventually(async () => {
      const { data } = await gql<{ generation: { status: string; context: Context } }>(
        `query($id: ID!) { generation(id: $id) { status context {
          instructions { aboutMe howToAnswer } memories { id text } recalled { score message { id } }
        } } }`,
        { id: generationId },
        user,
      );
      expect(data?.generation.status).toBe('COMPLETE');
      return data?.generation.context as Context;
    });
    const request = requestFor(content) as ChatRequest;
    expect(request).toBeDefined();
    return { context, request };
  };
  const remember = async (text: string, user = ada) => {
    const { data } = await gql<{ remember: { id: string } }>(
      `mutation($text: String!) { remember(text: $text) { id } }`,
      { text },
      user,
    );
    return data?.remember.id as string;
  };

  beforeAll(async () => {
    llm = await startLoopbackServer();
    llm.serveModels(MODEL);
    platform = await startTestPlatform('memories-prompt', {
      env: { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: `${llm.url}/v1`, LLM_MODEL: MODEL },
    });
    ada = await registerUser(platform);
  });
  afterAll(async () => {
    await platform?.stop();
    await llm?.close();
  });

  it('sends the system prompt first, then the instructions and memories, with the settings as set; a forgotten memory is not sent again', async () => {
    await gql(
      `mutation { updateInstructions(input: { aboutMe: "I live in Lisbon.", howToAnswer: "Briefly." }) { aboutMe } }`,
    );
    const vegetarian = await remember('I am vegetarian.');
    const cat = await remember('My cat is called Miso.');
    const id = await createConversation({
      model: MODEL,
      systemPrompt: 'You are a terse assistant.',
      temperature: 0.2,
      topP: 0.5,
      maxOutputTokens: 64,
      recallEnabled: false,
    });

    const first = await turn(id, 'What should I cook?');
    expect(first.request).toMatchObject({ model: MODEL, temperature: 0.2, top_p: 0.5, max_tokens: 64 });
    const [system, ...turns] = first.request.messages;
    expect(system.role).toBe('system');
    expect(turns).toEqual([{ role: 'user', content: 'What should I cook?' }]);
    const at = (text: string) => system.content.indexOf(text);
    expect(at('You are a terse assistant.')).toBe(0);
    expect(at('I live in Lisbon.')).toBeGreaterThan(0);
    expect(at('Briefly.')).toBeGreaterThan(at('I live in Lisbon.'));
    expect(at('My cat is called Miso.')).toBeGreaterThan(at('Briefly.'));
    expect(at('I am vegetarian.')).toBeGreaterThan(at('My cat is called Miso.'));
    expect(first.context).toEqual({
      instructions: { aboutMe: 'I live in Lisbon.', howToAnswer: 'Briefly.' },
      memories: [
        { id: cat, text: 'My cat is called Miso.' },
        { id: vegetarian, text: 'I am vegetarian.' },
      ],
      recalled: [],
    });

    expect(errorCodes(await gql(`mutation($id: ID!) { forgetMemory(id: $id) }`, { id: vegetarian }))).toEqual(
      [],
    );
    const second = await turn(id, 'And for dessert?');
    expect(JSON.stringify(second.request)).not.toContain('vegetarian');
    expect(second.request.messages[0].content).toContain('My cat is called Miso.');
    expect(second.context.memories).toEqual([{ id: cat, text: 'My cat is called Miso.' }]);
    expect(second.request.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it('sends recalled messages while recall is on, and none once the user turns it off', async () => {
    const bea = await registerUser(platform);
    // Conversations with a title of their own: no title request to take a queued reply.
    await turn(await createConversation({ model: MODEL }, bea), 'My favourite colour is teal.', bea);
    const id = await createConversation({ model: MODEL }, bea);
    // The first message is searchable once the indexer has taken it: recall finds it then.
    const recalled = await eventually(
      async () => {
        const { request, context } = await turn(id, `Which colour do I like? ${Math.random()}`, bea);
        expect(request.messages[0].content).toContain('teal');
        return { request, context };
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(recalled.request.messages[0].content).toContain(RECALL_HEADING);
    expect(recalled.context.recalled.length).toBeGreaterThan(0);

    expect(
      (await gql<{ setRecallEnabled: boolean }>(`mutation { setRecallEnabled(enabled: false) }`, {}, bea))
        .data,
    ).toEqual({ setRecallEnabled: false });
    const off = await turn(id, 'Which colour do I like, again?', bea);
    expect(JSON.stringify(off.request)).not.toContain('teal');
    expect(JSON.stringify(off.request)).not.toContain(RECALL_HEADING);
    expect(off.context.recalled).toEqual([]);
  });

  it("sends recalled messages in a conversation with recall on, and none in one that turned it off, while the user's recall is on", async () => {
    const cy = await registerUser(platform);
    await turn(await createConversation({ model: MODEL }, cy), 'My favourite city is Porto.', cy);
    // The control: recall on for the user and the conversation; the first message reaches the model.
    const recallOn = await createConversation({ model: MODEL }, cy);
    const recalled = await eventually(
      async () => {
        const on = await turn(recallOn, `Which city do I like? ${Math.random()}`, cy);
        expect(on.request.messages[0].content).toContain('Porto');
        return on;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(recalled.context.recalled.length).toBeGreaterThan(0);

    const recallOff = await createConversation({ model: MODEL, recallEnabled: false }, cy);
    const off = await turn(recallOff, 'Which city do I like?', cy);
    expect(JSON.stringify(off.request)).not.toContain('Porto');
    expect(JSON.stringify(off.request)).not.toContain(RECALL_HEADING);
    expect(off.context.recalled).toEqual([]);
    const { data } = await gql<{ me: { recallEnabled: boolean } }>(`{ me { recallEnabled } }`, {}, cy);
    expect(data?.me.recallEnabled).toBe(true);
  });
});
