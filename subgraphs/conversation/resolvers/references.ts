import type { ConversationContext } from '../context';

/**
 * Entity fetches (`_entities`) obey ownership like everything else: a foreign or missing
 * conversation or message resolves to null. They are batched: one query per type per request.
 */
export const referenceResolvers = {
  User: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  Conversation: {
    __resolveReference: (reference: { id: string }, ctx: ConversationContext) =>
      ctx.conversations.visible(reference.id),
  },
  Message: {
    __resolveReference: (reference: { id: string }, ctx: ConversationContext) =>
      ctx.messages.visible(reference.id),
  },
};
