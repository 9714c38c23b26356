import { Field, InputType } from 'type-graphql';

@InputType()
export class RegisterInput {
  @Field({ description: 'Compared case-insensitively; must not be registered yet.' })
  email!: string;

  @Field({ description: '10 to 256 characters, not a well-known password.' })
  password!: string;

  @Field()
  displayName!: string;
}

@InputType()
export class LoginInput {
  @Field()
  email!: string;

  @Field()
  password!: string;
}
