// Bulk payout activities: thin wrappers over the bulk service. A wave heartbeats between chunks of starts;
// payout workflows are started with the activity's own Temporal client.
import { Context } from '@temporalio/activity';
import type { BulkService } from '../src/payouts/bulk.ts';
import { PayoutGateway } from '../src/payouts/gateway.ts';
import type { BulkActivities } from '../workflows/bulk-contract.ts';

export function createBulkActivities(service: BulkService): BulkActivities {
  return {
    startBulkWave: ({ bulkId, window }) => {
      const ctx = Context.current();
      const payouts = new PayoutGateway(ctx.client, ctx.info.taskQueue);
      return service.startWave(payouts, bulkId, window, () => ctx.heartbeat());
    },
    cancelBulkPayouts: ({ bulkId, ...cancellation }) => {
      const ctx = Context.current();
      const payouts = new PayoutGateway(ctx.client, ctx.info.taskQueue);
      return service.cancelRemaining(payouts, bulkId, cancellation, () => ctx.heartbeat());
    },
    completeBulk: ({ bulkId, cancellation }) => service.complete(bulkId, cancellation),
    deliverBulkWebhook: ({ eventId }) => service.deliverWebhook(eventId),
  };
}
