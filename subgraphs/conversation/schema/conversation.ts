import { Directive, Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A chat thread owned by one user.' })
@Directive('@key(fields: "id")')
export class Conversation {
  @Field(() => ID)
  id!: string;

  @Field()
  title!: string;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  @Field({ description: 'When a message was last added; conversations are listed by it, newest first.' })
  lastActivityAt!: Date;
}
