import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Tokens used in one UTC day.' })
export class DailyUsage {
  @Field({ description: 'The UTC day, YYYY-MM-DD.' })
  date!: string;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field(() => Int)
  generations!: number;
}

@ObjectType({ description: 'The limits this deployment sets on each user.' })
export class UsageLimits {
  @Field(() => Int, { description: 'Generations that may run at once.' })
  concurrentGenerations!: number;

  @Field(() => Int, { description: 'Tokens (prompt and reply) per UTC day.' })
  dailyTokens!: number;
}

@ObjectType({ description: "A user's token usage and limits." })
export class Usage {
  @Field(() => Int, { description: 'All-time prompt tokens.' })
  promptTokens!: number;

  @Field(() => Int, { description: 'All-time reply tokens.' })
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field(() => Int)
  generations!: number;

  @Field(() => DailyUsage)
  today!: DailyUsage;

  @Field(() => [DailyUsage], {
    description: 'The last `days` days, oldest first, days without use included.',
  })
  daily!: DailyUsage[];

  @Field(() => Int, { description: 'Generations running now.' })
  activeGenerations!: number;

  @Field(() => UsageLimits)
  limits!: UsageLimits;

  @Field(() => Int)
  dailyTokensRemaining!: number;

  @Field({ description: 'When today’s count starts again from zero (midnight UTC).' })
  resetsAt!: Date;
}
