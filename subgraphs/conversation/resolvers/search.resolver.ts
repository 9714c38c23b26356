import { Arg, Ctx, Directive, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ConversationContext } from '../context';
import { Conversation } from '../schema/conversation.type';
import { SearchHit } from '../schema/search.type';
import type { SearchHitRecord } from '../records/search-hit.record';

@Resolver(() => SearchHit)
export class SearchResolver {
  @Query(() => [SearchHit], {
    description:
      'Your messages closest in meaning to the query, best first; within one conversation when given.',
  })
  @Directive('@authenticated')
  @ListSizeDirective({ slicingArguments: ['first'] })
  searchMessages(
    @Arg('query', () => String) query: string,
    @Arg('conversationId', () => ID, { nullable: true }) conversationId: string | null,
    @Arg('first', () => Int, { defaultValue: 10 }) first: number,
    @Ctx() ctx: ConversationContext,
  ) {
    return ctx.search.searchMessages(ctx.caller, query, conversationId, first);
  }

  @FieldResolver(() => Conversation)
  conversation(@Root() hit: SearchHitRecord, @Ctx() ctx: ConversationContext) {
    return ctx.conversations.visible(hit.message.conversationId);
  }
}
