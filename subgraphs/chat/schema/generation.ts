import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum GenerationStatus {
  STREAMING = 'STREAMING',
  COMPLETE = 'COMPLETE',
  STOPPED = 'STOPPED',
  INTERRUPTED = 'INTERRUPTED',
  FAILED = 'FAILED',
}
registerEnumType(GenerationStatus, { name: 'GenerationStatus' });

@ObjectType({ description: 'One run of a model producing an assistant message.' })
@Directive('@key(fields: "id")')
export class Generation {
  @Field(() => ID)
  id!: string;

  @Field(() => GenerationStatus)
  status!: GenerationStatus;

  @Field({ description: 'The model that produced it.' })
  model!: string;

  @Field()
  startedAt!: Date;
}
