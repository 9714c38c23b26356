import type { RecallHit, StoredMessage } from '../records/message.record';
import type { Memory } from '../records/turn-context.record';
import { ABOUT_ME_HEADING, buildPrompt, MEMORIES_HEADING, type PromptInput } from './prompt';

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
  instructions: null,
  memories: [],
  history: [],
  recalled: [],
  model: 'm',
  contextTokens: 8_192,
  maxOutputTokens: 1_024,
  temperature: 0.7,
  topP: null,
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
    expect(prompt.context.recalled.map((hit) => hit.score)).toEqual([0.9]);
    expect(prompt.request.system).not.toContain('[2]');
  });

  describe('order and budget (docs/chat.md#the-prompt)', () => {
    const memory = (text: string): Memory => ({ id: `mem-${++counter}`, text });
    const instructions = { aboutMe: '  I live in Lisbon.  ', howToAnswer: 'Briefly.' };
    const long = (word: string, tokens: number) => `${word} ${'x'.repeat(tokens * 4)}`;

    it('puts the system prompt first, then instructions, then memories, then recall; the history follows as turns', () => {
      const newest = memory('My cat is Miso.');
      const older = memory('I am vegetarian.');
      const prompt = buildPrompt(
        base({
          instructions,
          memories: [newest, older],
          history: [message('USER', 'Hi'), message('ASSISTANT', 'Hello!'), message('USER', 'Dinner?')],
          recalled: [{ score: 0.9, message: message('USER', 'I like rice', 'Food') }],
          topP: 0.9,
        }),
      );
      expect(prompt.request.system).toBe(
        [
          'You are helpful.',
          `${ABOUT_ME_HEADING}\nI live in Lisbon.\n\nHow the user wants you to answer:\nBriefly.`,
          `${MEMORIES_HEADING}\n- My cat is Miso.\n- I am vegetarian.`,
          "Excerpts from the user's other conversations that may be relevant (use them only if they help):\n" +
            '[1] In "Food", the user wrote: I like rice',
        ].join('\n\n'),
      );
      expect(prompt.request.messages.map((m) => m.content)).toEqual(['Hi', 'Hello!', 'Dinner?']);
      expect(prompt.request.topP).toBe(0.9);
      // The snapshot is what was sent: the instructions trimmed, the memories as listed.
      expect(prompt.context).toEqual({
        instructions: { aboutMe: 'I live in Lisbon.', howToAnswer: 'Briefly.' },
        memories: [
          { id: newest.id, text: newest.text },
          { id: older.id, text: older.text },
        ],
        recalled: [{ messageId: expect.any(String), conversationId: 'c1', score: 0.9 }],
      });
    });

    it('sends no instructions section, and lists none, when both are empty', () => {
      const prompt = buildPrompt(
        base({ instructions: { aboutMe: ' ', howToAnswer: '' }, history: [message('USER', 'Hi')] }),
      );
      expect(prompt.request.system).toBe('You are helpful.');
      expect(prompt.context).toEqual({ instructions: null, memories: [], recalled: [] });
    });

    it('trims recall first, then the oldest history, then the oldest memories, then the instructions', () => {
      const history = [
        // Turns of one role are merged into one message: the words say which were kept.
        message('USER', long('oldest', 300)),
        message('USER', long('older', 300)),
        message('USER', long('question', 100)),
      ];
      const memories = [memory(long('new-memory', 100)), memory(long('old-memory', 100))];
      const recalled = [{ score: 0.9, message: message('USER', 'r'.repeat(560), 'Other') }];
      const sizes = (contextTokens: number) => {
        const prompt = buildPrompt(
          base({ instructions, memories, history, recalled, contextTokens, maxOutputTokens: 100 }),
        );
        return {
          recalled: prompt.context.recalled.length,
          history: prompt.request.messages.flatMap((m) => m.content.match(/[a-z]+(?= x)/g) ?? []),
          memories: prompt.context.memories.map((m) => m.text.split(' ')[0]),
          instructions: prompt.context.instructions !== null,
          system: prompt.request.system.startsWith('You are helpful.'),
        };
      };
      const everything = {
        recalled: 1,
        history: ['oldest', 'older', 'question'],
        memories: ['new-memory', 'old-memory'],
        instructions: true,
      };
      expect(sizes(8_000)).toMatchObject(everything);
      // Each budget below cuts one step further down the order.
      expect(sizes(1_150)).toMatchObject({ ...everything, recalled: 0 });
      expect(sizes(800)).toMatchObject({
        recalled: 0,
        history: ['older', 'question'],
        memories: everything.memories,
      });
      expect(sizes(500)).toMatchObject({ recalled: 0, history: ['question'], memories: everything.memories });
      expect(sizes(400)).toMatchObject({
        recalled: 0,
        history: ['question'],
        memories: ['new-memory'],
        instructions: true,
      });
      expect(sizes(300)).toMatchObject({
        recalled: 0,
        history: ['question'],
        memories: [],
        instructions: true,
      });
      // Never the system prompt or the message being answered, even past the budget.
      expect(sizes(200)).toEqual({
        recalled: 0,
        history: ['question'],
        memories: [],
        instructions: false,
        system: true,
      });
    });
  });
});
