/**
 * Example variables of each operation in the Postman collection. `{{name}}` is a collection
 * variable: the tokens, and ids that earlier requests captured (see CAPTURES in postman.ts).
 * Codegen refuses an operation without an entry, or one its variables do not fit.
 */
export const POSTMAN_EXAMPLES: Record<string, Record<string, unknown>> = {
  Register: { input: { email: 'ada@example.com', password: 'a long passphrase', displayName: 'Ada' } },
  Login: { input: { email: 'ada@example.com', password: 'a long passphrase' } },
  RefreshToken: { token: '{{refreshToken}}' },
  Logout: {},
  Me: {},
  VerifyEmail: { token: 'the token after #token= in the verification mail' },
  ResendVerification: {},
  Models: {},
  SendMessage: { input: { content: 'What is a supergraph?' } },
  StopGeneration: { id: '{{generationId}}' },
  Regenerate: { messageId: '{{messageId}}' },
  EditMessage: { messageId: '{{messageId}}', content: 'What is a subgraph?' },
  GenerationContext: { id: '{{generationId}}' },
  Conversations: { first: 20 },
  ConversationMessages: { id: '{{conversationId}}', last: 50 },
  CreateConversation: { title: 'Trying the API' },
  CreateConversationWithSettings: {
    input: {
      title: 'A terse assistant',
      settings: { systemPrompt: 'Answer in one sentence.', temperature: 0.2, maxOutputTokens: 256 },
    },
  },
  ConversationSettings: { id: '{{conversationId}}' },
  UpdateConversationSettings: {
    id: '{{conversationId}}',
    settings: { temperature: 1, recallEnabled: false },
  },
  Instructions: {},
  UpdateInstructions: { input: { aboutMe: 'I write TypeScript.', howToAnswer: 'Briefly, with code.' } },
  Presets: {},
  CreatePreset: { input: { name: 'Terse', settings: { systemPrompt: 'Answer in one sentence.' } } },
  UpdatePreset: { id: '{{presetId}}', input: { settings: { temperature: 0.2 } } },
  DeletePreset: { id: '{{presetId}}' },
  Memories: {},
  Remember: { text: 'I prefer metric units.' },
  ForgetMemory: { id: '{{memoryId}}' },
  SetRecallEnabled: { enabled: false },
  RenameConversation: { id: '{{conversationId}}', title: 'Renamed from Postman' },
  DeleteConversation: { id: '{{conversationId}}' },
  SearchMessages: { query: 'supergraph', first: 10 },
  ExportConversation: { id: '{{conversationId}}', format: 'MARKDOWN' },
};
