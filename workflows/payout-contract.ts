// The payout workflow's own contract: its id, signals, queries and updates. The API imports these same
// definitions, so a name and its type exist once; the domain types they carry live in src/payouts/state.ts
// and src/auth/actor.ts. Nothing here may carry bank data: destinations stay in the database and are
// referenced by payout id only.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

import type { Actor } from '../src/auth/actor.ts';
import type { PayoutStateDoc } from '../src/payouts/state.ts';

/** Provider-side event delivered by a verified webhook or an imported manual result. */
export interface ProviderEventSignal {
  eventId: string;
  idempotencyKey: string;
  type: 'paid' | 'failed' | 'returned';
  reason?: string;
  /** Name of the provider whose webhook or import reported the event (absent: taken as it is). */
  provider?: string;
}

export interface ApprovalDecision {
  approver: Actor;
  decision: 'approve' | 'reject';
  reason: string;
}

export interface CancelRequest {
  by: Actor;
  reason: string;
}

/** Operator's verdict on a payout whose provider outcome could not be established automatically. */
export interface UnknownOutcomeResolution {
  by: Actor;
  outcome: 'paid' | 'not_paid';
  reason: string;
  /**
   * `not_paid` only: the operator has confirmed with the provider that the attempt will never pay, so the
   * workflow fails over without first cancelling the attempt there (e.g. the provider is unreachable or gone).
   */
  force?: boolean;
}

export const payoutStatusQuery = defineQuery<PayoutStateDoc>('payoutStatus');
export const providerEventSignal = defineSignal<[ProviderEventSignal]>('providerEvent');
export const complianceClearedSignal = defineSignal<[{ by: Actor; reason: string }]>('complianceCleared');
/** Clears a compliance hold (operator); answers with the state after the payout went on. */
export const clearComplianceUpdate = defineUpdate<PayoutStateDoc, [{ by: Actor; reason: string }]>(
  'clearCompliance',
);
export const decideApprovalUpdate = defineUpdate<PayoutStateDoc, [ApprovalDecision]>('decideApproval');
export const cancelPayoutUpdate = defineUpdate<PayoutStateDoc, [CancelRequest]>('cancelPayout');
export const resolveUnknownOutcomeUpdate = defineUpdate<PayoutStateDoc, [UnknownOutcomeResolution]>(
  'resolveUnknownOutcome',
);

export function payoutWorkflowId(payoutId: string): string {
  return `payout-${payoutId}`;
}
