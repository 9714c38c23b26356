import { badUserInput, forbidden } from '../../../common/errors/errors';
import { type Caller, requireUser } from '../../../common/identity/caller';
import type { UsageReport } from '../records/usage.record';
import type { QuotaService } from './quota.service';
import { USAGE_HISTORY_DAYS } from '../repositories/usage.repository';

/** Token usage; a user sees their own, an admin anyone's. */
export class UsageService {
  constructor(private readonly quotas: QuotaService) {}

  report(caller: Caller, userId: string, days: number): Promise<UsageReport> {
    if (requireUser(caller).userId !== userId && caller.role !== 'ADMIN')
      throw forbidden('You can only see your own usage');
    if (!Number.isInteger(days) || days < 1 || days > USAGE_HISTORY_DAYS) {
      throw badUserInput('days', `days must be between 1 and ${USAGE_HISTORY_DAYS}`);
    }
    return this.quotas.report(userId, days);
  }
}
