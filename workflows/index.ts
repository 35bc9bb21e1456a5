// Entry point of the workflow bundle: every workflow type the worker registers.

export { bulkPayoutWorkflow } from './bulk.ts';
export {
  creditGrantWorkflow,
  spendbackPeriodTriggersWorkflow,
  spendbackWebhookWorkflow,
} from './credit-grant.ts';
export { payoutWorkflow } from './payout.ts';
export { payoutWebhookWorkflow } from './payout-webhook.ts';
export { periodCloseWorkflow } from './period.ts';
export { periodScheduledCloseWorkflow } from './period-schedule.ts';
