import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '../../../common/graphql/pagination';
import { ROLES, type Role } from '../../../common/identity/roles';

/** Role (common/identity/roles.ts) as type-graphql registers an enum: each value under its own name. */
export const RoleEnum = Object.fromEntries(ROLES.map((role) => [role, role])) as { [Name in Role]: Name };

registerEnumType(RoleEnum, { name: 'Role', description: 'What a user may do.' });

@ObjectType({ description: 'A person with an account. Other subgraphs extend it.' })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Only the user themselves and admins can read it.' })
  email!: string;

  @Field()
  displayName!: string;

  @Field(() => RoleEnum, { description: 'Only the user themselves and admins can read it.' })
  role!: Role;

  @Field({
    description:
      'Whether the owner proved they read mail at `email` (a verification link or a password reset). Only the user themselves and admins can read it.',
  })
  /** Resolved from the account's `emailVerifiedAt` (UserResolver). */
  emailVerified?: boolean;

  @Field()
  createdAt!: Date;
}

export const UserConnection = ConnectionType('User', User);
