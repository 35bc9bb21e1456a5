// Every activity the Disburse worker registers, built from the services. Add an area's activities here.
import { createBulkActivities } from '../../activities/bulk.ts';
import { classifyDatabaseOutages } from '../../activities/database-outage.ts';
import { createPayoutActivities } from '../../activities/payout.ts';
import { createPeriodScheduleActivities } from '../../activities/period-schedule.ts';
import { createPeriodActivities } from '../../activities/periods.ts';
import { createSpendbackActivities } from '../../activities/spendback.ts';
import type { Services } from './services.ts';

export function createActivities(services: Services) {
  return classifyDatabaseOutages({
    ...createPayoutActivities(services.payouts),
    ...createBulkActivities(services.bulks),
    ...createPeriodActivities(services.periods),
    ...createPeriodScheduleActivities(services.periods),
    ...createSpendbackActivities(services.spendback),
  });
}
