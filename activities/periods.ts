// Period-close activities: thin wrappers over the period service. Batch activities heartbeat so a dead
// worker is noticed quickly; payout workflows are started with the activity's own Temporal client. A
// database error or a domain error no retry can fix (an unknown plan version or currency, a refused posting)
// fails the step as a non-retryable DataError (the workflow stops the close and reports it); an outage or a
// conflict stays retryable.
import { Context } from '@temporalio/activity';
import { PayoutGateway } from '../src/payouts/gateway.ts';
import type { PeriodService } from '../src/periods/service.ts';
import type { PeriodActivities } from '../workflows/period-contract.ts';
import { classifyDataErrors } from './data-errors.ts';

export function createPeriodActivities(service: PeriodService): PeriodActivities {
  const heartbeat = () => Context.current().heartbeat();
  const activities: PeriodActivities = {
    closePeriod: ({ periodId, planVersion }) => service.close(periodId, planVersion),
    reopenPeriod: ({ periodId }) => service.reopen(periodId),
    prepareRun: ({ periodId, run, planVersion }) => service.prepareRun(periodId, run, planVersion),
    calculateBatch: ({ periodId, run, batch }) => service.calculateBatch(periodId, run, batch, heartbeat),
    finishRun: ({ periodId, run, planVersion, previousRun }) =>
      service.finishRun(periodId, run, planVersion, previousRun),
    postBatch: async ({ periodId, run, batch }) => {
      heartbeat();
      return service.postBatch(periodId, run, batch);
    },
    markPosted: ({ periodId }) => service.markPosted(periodId),
    startPayouts: ({ periodId, window, waitMs }) => {
      const ctx = Context.current();
      const payouts = new PayoutGateway(ctx.client, ctx.info.taskQueue);
      // The activity's own sleep: a cancelled activity (worker shutdown) stops waiting at once.
      const wait = waitMs ? { forMs: waitMs, pause: (ms: number) => ctx.sleep(ms) } : undefined;
      return service.startPayouts(payouts, periodId, window, heartbeat, wait);
    },
    completePeriod: ({ periodId, run }) => service.completePeriod(periodId, run),
    async notifyApprovers({ periodId, kind, count }) {
      const eventId = await service.notifyApprovers(periodId, kind, count);
      await service.deliverWebhook(eventId);
      return eventId;
    },
    deliverPeriodWebhook: ({ eventId }) => service.deliverWebhook(eventId),
    reportProblem: ({ periodId, seq, problem }) => service.reportProblem(periodId, seq, problem),
  };
  return classifyDataErrors({ ...activities });
}
