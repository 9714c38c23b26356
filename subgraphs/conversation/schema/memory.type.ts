import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({
  description: 'Something you asked the assistant to remember; it goes into every prompt of yours.',
})
export class Memory {
  @Field(() => ID)
  id!: string;

  @Field()
  text!: string;

  @Field()
  createdAt!: Date;
}
