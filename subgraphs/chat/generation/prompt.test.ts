import type { RecallHit, StoredMessage } from '../records/message.record';
import { buildPrompt, type PromptInput } from './prompt';

let counter = 0;
const message = (role: StoredMessage['role'], content: string, title = 'Trip'): StoredMessage => ({
  id: `m${++counter}`,
  role,
  content,
  status: 'COMPLETE',
  createdAt: new Date(),
  conversation: { id: 'c1', title },
  parentId: null,
  promptTokens: null,
  completionTokens: null,
  model: null,
});

const base = (overrides: Partial<PromptInput>): PromptInput => ({
  systemPrompt: 'You are helpful.',
  history: [],
  recalled: [],
  model: 'm',
  contextTokens: 8_192,
  maxOutputTokens: 1_024,
  temperature: 0.7,
  ...overrides,
});

describe('buildPrompt', () => {
  it('sends the system prompt and the branch in order, with roles', () => {
    const { request } = buildPrompt(
      base({
        history: [message('USER', 'Hi'), message('ASSISTANT', 'Hello!'), message('USER', 'Plan a trip')],
      }),
    );
    expect(request.system).toBe('You are helpful.');
    expect(request.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Plan a trip' },
    ]);
    expect(request).toMatchObject({ model: 'm', maxOutputTokens: 1_024, temperature: 0.7 });
  });

  it('drops the oldest messages first to leave room for the reply, always keeping the newest', () => {
    const long = 'x'.repeat(4_000); // about 1,000 tokens each
    const history = [
      message('USER', `first ${long}`),
      message('ASSISTANT', `second ${long}`),
      message('USER', `third ${long}`),
      message('ASSISTANT', `fourth ${long}`),
      message('USER', 'the question'),
    ];
    const { request } = buildPrompt(base({ history, contextTokens: 3_500, maxOutputTokens: 1_000 }));
    expect(request.messages.map((m) => m.content.split(' ')[0])).toEqual(['third', 'fourth', 'the']);
  });

  it('starts with a user turn and merges consecutive turns of one role', () => {
    const { request } = buildPrompt(
      base({
        history: [
          message('ASSISTANT', 'Welcome!'),
          message('USER', 'One'),
          message('ASSISTANT', ''),
          message('USER', 'Two'),
        ],
      }),
    );
    expect(request.messages).toEqual([{ role: 'user', content: 'One\n\nTwo' }]);
  });

  it("adds the conversation's own system messages to the instructions", () => {
    const { request } = buildPrompt(
      base({ history: [message('SYSTEM', 'Answer in French.'), message('USER', 'Hi')] }),
    );
    expect(request.system).toBe('You are helpful.\n\nAnswer in French.');
    expect(request.messages).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('adds recalled messages, numbered and attributed, as long as they fit a quarter of the budget', () => {
    const recalled: RecallHit[] = [
      { score: 0.9, message: message('USER', 'I am allergic to peanuts', 'Dinner ideas') },
      { score: 0.8, message: message('ASSISTANT', 'y'.repeat(2_000), 'Essay') },
      { score: 0.7, message: message('USER', 'z'.repeat(600), 'Notes') },
    ];
    const prompt = buildPrompt(
      base({
        history: [message('USER', 'Suggest a snack')],
        recalled,
        contextTokens: 1_400,
        maxOutputTokens: 800,
      }),
    );
    expect(prompt.request.system).toContain(
      '[1] In "Dinner ideas", the user wrote: I am allergic to peanuts',
    );
    expect(prompt.recalled.map((hit) => hit.score)).toEqual([0.9]);
    expect(prompt.request.system).not.toContain('[2]');
  });
});
