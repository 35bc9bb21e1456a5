// The payout webhook events: one per state a payout enters that a client acts on, named `payout.<state>`,
// plus three notices sent without a change of state. The workflow and the return path send only these
// names; the API documents them from this table. Pure data: the workflow bundle imports it.
import type { PayoutState } from '../payouts/state.ts';

interface EventSpec {
  /** The state the payout enters with the event; absent for a notice (sent in whatever state it is in). */
  enters?: PayoutState;
  summary: string;
}

export const PAYOUT_WEBHOOK_EVENTS = {
  'payout.compliance_hold': {
    enters: 'compliance_hold',
    summary: 'Held by screening until an operator clears it',
  },
  'payout.pending_approval': { enters: 'pending_approval', summary: 'Waiting for approvals' },
  'payout.scheduled': {
    enters: 'scheduled',
    summary: 'Waiting: for its payout window, or for a provider to come back (reason providers_down)',
  },
  'payout.unknown_outcome': {
    enters: 'unknown_outcome',
    summary: "The provider's outcome is not known yet; status checks continue",
  },
  'payout.review': {
    enters: 'review',
    summary:
      'Parked for an operator: an outcome that stayed unknown, or a step that failed for a data reason',
  },
  'payout.paid': { enters: 'paid', summary: 'The provider paid; the hold is settled' },
  'payout.returned': {
    enters: 'returned',
    summary: 'Paid, then returned by the bank or provider; the settlement is reversed into the wallet',
  },
  'payout.failed': { enters: 'failed', summary: 'Failed; the hold is released' },
  'payout.rejected': {
    enters: 'rejected',
    summary: 'Rejected (an approver, an approval timeout, insufficient funds)',
  },
  'payout.cancelled': {
    enters: 'cancelled',
    summary: 'Cancelled before it reached a provider; the hold is released',
  },
  // Notices: sent in the state the payout is in, which they do not change.
  'payout.approval_escalated': {
    summary: 'Approval overdue: escalated (the payout still waits for approvals)',
  },
  'payout.resolution_refused': {
    summary: "An operator's not-paid verdict was refused: the provider could not stop the attempt",
  },
  'payout.reconcile_required': {
    summary: 'A provider reports paid an attempt counted as not paid: reconcile with the provider',
  },
} as const satisfies Record<string, EventSpec>;

export type PayoutWebhookEvent = keyof typeof PAYOUT_WEBHOOK_EVENTS;

/** Events sent without a change of state; every other event is named after the state it enters. */
export const PAYOUT_NOTICES: readonly PayoutWebhookEvent[] = [
  'payout.approval_escalated',
  'payout.resolution_refused',
  'payout.reconcile_required',
];
