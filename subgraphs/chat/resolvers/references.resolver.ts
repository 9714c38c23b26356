import type { ChatContext } from '../context';
import { toGeneration } from './generation.resolver';

/** `_entities`: the stubs resolve to themselves (chat adds fields, keeps no data of them); a
 * Generation resolves only for its owner. */
export const referenceResolvers = {
  Message: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  Conversation: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  User: { __resolveReference: (reference: { id: string }) => ({ id: reference.id }) },
  Generation: {
    __resolveReference: async (reference: { id: string }, ctx: ChatContext) => {
      const generation = await ctx.generations.findOwned(ctx.caller, reference.id);
      return generation && toGeneration(generation);
    },
  },
};
