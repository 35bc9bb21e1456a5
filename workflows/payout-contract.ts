// The payout workflow's public contract: input, state, signals, queries and updates. The API imports these
// same definitions, so a name and its type exist once. Nothing here may carry bank data: destinations stay
// in the database and are referenced by payout id only.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export interface MoneyWire {
  amount: string;
  currency: string;
  scale: number;
}

export type PayoutMethod = 'bank_transfer' | 'wallet' | 'card' | 'crypto';

export interface Actor {
  actor: string;
  role: 'platform' | 'approver' | 'operator' | 'payee';
}

export interface PayoutInput {
  payoutId: string;
  payeeId: string;
  amount: MoneyWire;
  method: PayoutMethod;
  /** The caller asked for instant (still subject to the payee's opt-in, provider support, limit, risk). */
  instantRequested: boolean;
  requestedBy: Actor;
  periodId?: string;
  bulkId?: string;
}

/** One wave of a fan-out (period close, bulk request): payouts started now, and how the queue stands after. */
export interface PayoutWave {
  started: number;
  inFlight: number;
  waiting: number;
  total: number;
}

export type PayoutState =
  | 'requested'
  | 'reserved'
  | 'compliance_hold'
  | 'pending_approval'
  | 'scheduled'
  | 'submitting'
  | 'awaiting_confirmation'
  | 'unknown_outcome'
  | 'review'
  | 'paid'
  | 'returned'
  | 'failed'
  | 'rejected'
  | 'cancelled';

export const FINAL_STATES: readonly PayoutState[] = ['paid', 'returned', 'failed', 'rejected', 'cancelled'];

export interface Reason {
  code: string;
  message: string;
}

export interface AttemptRecord {
  attemptNo: number;
  provider: string;
  idempotencyKey: string;
  outcome: 'submitting' | 'pending' | 'paid' | 'declined' | 'outage' | 'failed' | 'unknown' | 'not_paid';
  detail?: string;
}

export interface ApprovalRecord {
  actor: string;
  decision: 'approve' | 'reject';
  reason: string;
  at: string;
}

export interface PayoutStatus {
  payoutId: string;
  payeeId: string;
  state: PayoutState;
  amount: MoneyWire;
  rail?: 'instant' | 'scheduled';
  provider?: string;
  attempts: AttemptRecord[];
  approvals: ApprovalRecord[];
  approvalsRequired: number;
  reasons: Reason[];
  nextTimer?: { purpose: string; at: string };
  fee?: MoneyWire;
  withholding?: MoneyWire;
}

/** Provider-side event delivered by a verified webhook or an imported manual result. */
export interface ProviderEventSignal {
  eventId: string;
  idempotencyKey: string;
  type: 'paid' | 'failed' | 'returned';
  reason?: string;
  /** Name of the provider whose webhook or import reported the event (absent in histories from before). */
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

export const payoutStatusQuery = defineQuery<PayoutStatus>('payoutStatus');
export const providerEventSignal = defineSignal<[ProviderEventSignal]>('providerEvent');
export const complianceClearedSignal = defineSignal<[{ by: Actor; reason: string }]>('complianceCleared');
/** Clears a compliance hold (operator); answers with the state after the payout went on. */
export const clearComplianceUpdate = defineUpdate<PayoutStatus, [{ by: Actor; reason: string }]>(
  'clearCompliance',
);
export const decideApprovalUpdate = defineUpdate<PayoutStatus, [ApprovalDecision]>('decideApproval');
export const cancelPayoutUpdate = defineUpdate<PayoutStatus, [CancelRequest]>('cancelPayout');
export const resolveUnknownOutcomeUpdate = defineUpdate<PayoutStatus, [UnknownOutcomeResolution]>(
  'resolveUnknownOutcome',
);

export function payoutWorkflowId(payoutId: string): string {
  return `payout-${payoutId}`;
}
