// Delivers one payout webhook from the outbox when no payout workflow is left to do it: a return reported
// after the payout's workflow closed (src/payouts/late-return.ts). Same activity and retries as the payout
// workflow's own deliveries.
import { proxyActivities } from '@temporalio/workflow';
import type { PayoutActivities } from './payout-activities.ts';

const webhooks = proxyActivities<Pick<PayoutActivities, 'deliverWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 25 },
});

export async function payoutWebhookWorkflow(input: { eventId: string }): Promise<void> {
  await webhooks.deliverWebhook({ eventId: input.eventId });
}
