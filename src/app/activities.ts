// Every activity the Disburse worker registers, built from the services. Add an area's activities here.
import { createPayoutActivities } from '../../activities/payout.ts';
import { createSpendbackActivities } from '../../activities/spendback.ts';
import type { Services } from './services.ts';

export function createActivities(services: Services) {
  return {
    ...createPayoutActivities(services.payouts),
    ...createSpendbackActivities(services.spendback),
  };
}
