import { Directive, Field, ID, ObjectType } from 'type-graphql';

/* Entities owned by other subgraphs, to which chat adds fields (see resolvers/references.resolver.ts). */

@ObjectType({
  description: 'A message, owned by the conversation subgraph; chat adds the generation that wrote it.',
  simpleResolvers: true,
})
@Directive('@key(fields: "id")')
export class Message {
  @Field(() => ID)
  id!: string;

  /** Chat knows it only where it just stored the message (`@provides` on SendMessagePayload). */
  @Field(() => String)
  @Directive('@external')
  content?: string;
}

@ObjectType({
  description: 'A conversation, owned by the conversation subgraph; chat adds its active generation.',
  simpleResolvers: true,
})
@Directive('@key(fields: "id")')
export class Conversation {
  @Field(() => ID)
  id!: string;

  /** Chat knows it only where it just stored a message (`@provides` on SendMessagePayload). */
  @Field(() => String)
  @Directive('@external')
  title?: string;
}

@ObjectType({ description: 'A user, owned by the auth subgraph; chat adds their token usage.' })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}
