// Credit grant and spendback trigger activities: thin wrappers over the spendback service.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { SpendbackService } from '../src/spendback/service.ts';
import { CreditGrantTimers } from '../src/spendback/timers.ts';
import type { CreditGrantActivities } from '../workflows/credit-grant-contract.ts';

export function createSpendbackActivities(service: SpendbackService): CreditGrantActivities {
  return {
    announceCreditExpiry: ({ grantId }) => service.announceExpiry(grantId),
    expireCreditGrant: ({ grantId }) => service.expireGrant(grantId),
    async deliverSpendbackWebhook({ eventId }) {
      // The grant's workflow starts just before its transaction commits: until the event is there, retry.
      if (!(await service.webhookExists(eventId))) {
        throw ApplicationFailure.retryable(
          `webhook event ${eventId} is not committed (yet)`,
          'EventNotCommitted',
        );
      }
      await service.deliverWebhook(eventId);
    },
    async evaluatePeriodTriggers({ period }) {
      const info = Context.current().info;
      const timers = new CreditGrantTimers(Context.current().client, info.taskQueue);
      return service.evaluatePeriodTriggers(period, timers);
    },
  };
}
