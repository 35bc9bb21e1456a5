// The payout's domain types: its input, states and the state doc recorded on its row (the read model). Types
// and pure constants only: the workflow bundle imports this, so it must stay deterministic.
import type { Actor } from '../auth/actor.ts';
import type { MoneyWire } from '../money/wire.ts';

export type PayoutMethod = 'bank_transfer' | 'wallet' | 'card' | 'crypto';

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

export const PAYOUT_STATES = [
  'requested',
  'reserved',
  'compliance_hold',
  'pending_approval',
  'scheduled',
  'submitting',
  'awaiting_confirmation',
  'unknown_outcome',
  'review',
  'paid',
  'returned',
  'failed',
  'rejected',
  'cancelled',
] as const;

export type PayoutState = (typeof PAYOUT_STATES)[number];

/** States a payout never leaves, except `paid`, which a return can still turn into `returned`. */
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

/** Outcomes that count an attempt as not paid (a payment reported for one of them needs reconciling). */
export const UNPAID_OUTCOMES: readonly AttemptRecord['outcome'][] = [
  'declined',
  'outage',
  'failed',
  'not_paid',
];

export interface ApprovalRecord {
  actor: string;
  decision: 'approve' | 'reject';
  reason: string;
  at: string;
}

/** Where the payout stands and why (attempts, approvals, reasons, next timer): the workflow's answer to
 * queries and updates, and the row's `state_doc`. */
export interface PayoutStateDoc {
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
