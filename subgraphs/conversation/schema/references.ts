// Stubs of the entities other subgraphs own, which this subgraph extends or points to.
import { Directive, Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A user, owned by the auth subgraph; this subgraph adds their conversations.' })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}
