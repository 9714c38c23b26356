import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A device where you are signed in.' })
export class Session {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'When you signed in on it.' })
  createdAt!: Date;

  @Field({ description: 'Its last sign-in or token refresh.' })
  lastUsedAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field({ description: 'Whether it is the session of this request.' })
  current!: boolean;
}
