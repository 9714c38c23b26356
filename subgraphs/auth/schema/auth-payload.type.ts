import { Field, ObjectType } from 'type-graphql';
import { User } from './user.type';

@ObjectType({ description: 'A signed-in session: what register, login and refreshToken return.' })
export class AuthPayload {
  @Field({ description: 'A JWT for `Authorization: Bearer`; short-lived.' })
  accessToken!: string;

  @Field()
  accessTokenExpiresAt!: Date;

  @Field({ description: 'Exchange it with `refreshToken` for new tokens; each is good once.' })
  refreshToken!: string;

  @Field()
  refreshTokenExpiresAt!: Date;

  @Field(() => User)
  user!: User;
}
