import { Arg, Ctx, Directive, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ListSizeDirective } from '../../../common/graphql/list-size';
import type { ChatContext } from '../context';
import type { DailyUsage as DailyCounts, UsageReport } from '../records/usage.record';
import { User } from '../schema/references';
import { type DailyUsage, Usage } from '../schema/usage.type';

const toDailyUsage = (day: DailyCounts): DailyUsage => ({
  ...day,
  totalTokens: day.promptTokens + day.completionTokens,
});

const toUsage = (report: UsageReport): Usage => ({
  ...report.totals,
  totalTokens: report.totals.promptTokens + report.totals.completionTokens,
  today: toDailyUsage(report.today),
  daily: report.daily.map(toDailyUsage),
  activeGenerations: report.activeGenerations,
  limits: report.limits,
  dailyTokensRemaining: report.dailyTokensRemaining,
  resetsAt: report.resetsAt,
});

@Resolver(() => User)
export class UserUsageResolver {
  @FieldResolver(() => Usage, {
    description: 'Tokens used, per day and in total, and the limits (yours only).',
  })
  @Directive('@authenticated')
  @ListSizeDirective({ slicingArguments: ['days'], sizedFields: ['daily'] })
  async usage(
    @Root() user: User,
    @Arg('days', () => Int, { defaultValue: 7 }) days: number,
    @Ctx() ctx: ChatContext,
  ): Promise<Usage> {
    return toUsage(await ctx.usage.report(ctx.caller, user.id, days));
  }
}
