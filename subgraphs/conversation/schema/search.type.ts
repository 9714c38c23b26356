import { Field, Float, ObjectType } from 'type-graphql';
import { Message } from './message.type';

@ObjectType({ description: 'A message found by meaning, with how close it is to the query.' })
export class SearchHit {
  @Field(() => Float, { description: 'Cosine similarity to the query: 1 is the same meaning, 0 unrelated.' })
  score!: number;

  @Field(() => Message)
  message!: Message;
}
