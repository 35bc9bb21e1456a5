// Entry point of the workflow bundle: every workflow type the worker registers.
export { payoutWorkflow } from './payout.ts';
export { periodCloseWorkflow } from './period.ts';
export { creditGrantWorkflow, spendbackPeriodTriggersWorkflow } from './credit-grant.ts';
