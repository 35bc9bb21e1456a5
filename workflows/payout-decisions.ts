// Every decision the payout workflow takes, as pure functions of recorded facts: which state an event leads
// to (the transition table), whether a decision may be taken, how approvals tally, how an attempt's failure
// or a provider's answer counts, and how long to wait next. No I/O, no clock, no Temporal: property-tested
// in test/payouts/payout-decisions.test.ts; the workflow (payout.ts) only sequences them.
import type { Actor } from '../src/auth/actor.ts';
import { judgeProviderEvent } from '../src/payouts/double-payment.ts';
import {
  type AttemptRecord,
  FINAL_STATES,
  type PayoutState,
  type PayoutStateDoc,
  type Reason,
  UNPAID_OUTCOMES,
} from '../src/payouts/state.ts';
import type { PayoutWebhookEvent } from '../src/webhooks/events.ts';
import { PayoutFailure, type PayoutPolicy, type ProviderStatusOutcome } from './payout-activities.ts';
import type { ApprovalDecision, CancelRequest, UnknownOutcomeResolution } from './payout-contract.ts';
import { unstorableText } from './text.ts';

export { judgeProviderEvent };

// ---- Transitions: state x event -> next state and the webhook it sends ----

/** What happens to a payout, in the workflow's words. */
export type PayoutEvent =
  | 'admit'
  | 'insufficient_funds'
  | 'hold_for_compliance'
  | 'compliance_timeout'
  | 'ask_approval'
  | 'escalate_approval'
  | 'approval_recorded'
  | 'reject'
  | 'cancel'
  | 'schedule'
  | 'wait_for_providers'
  | 'unroutable'
  | 'submit'
  | 'await_confirmation'
  | 'outcome_unknown'
  | 'to_review'
  | 'refuse_resolution'
  | 'pay'
  | 'return'
  | 'fail'
  | 'data_error'
  | 'reconcile';

/** Before any provider holds an attempt: the only states a cancel is taken in. */
export const CANCELLABLE: readonly PayoutState[] = [
  'requested',
  'reserved',
  'compliance_hold',
  'pending_approval',
  'scheduled',
];
/** States in which an attempt can be (re)started or is being decided. */
const ROUTABLE: readonly PayoutState[] = ['reserved', 'compliance_hold', 'pending_approval', 'scheduled'];
const IN_ATTEMPT: readonly PayoutState[] = [
  'submitting',
  'awaiting_confirmation',
  'unknown_outcome',
  'review',
];
const OPEN: readonly PayoutState[] = ['requested', ...ROUTABLE, ...IN_ATTEMPT];

interface Transition {
  from: readonly PayoutState[];
  /** `same`: a notice; the payout stays where it is. */
  to: PayoutState | 'same';
  webhook?: PayoutWebhookEvent;
}

export const TRANSITIONS: Record<PayoutEvent, Transition> = {
  admit: { from: ['requested'], to: 'reserved' },
  insufficient_funds: { from: ['requested'], to: 'rejected', webhook: 'payout.rejected' },
  hold_for_compliance: { from: ['reserved'], to: 'compliance_hold', webhook: 'payout.compliance_hold' },
  compliance_timeout: { from: ['compliance_hold'], to: 'failed', webhook: 'payout.failed' },
  ask_approval: {
    from: ['reserved', 'compliance_hold'],
    to: 'pending_approval',
    webhook: 'payout.pending_approval',
  },
  escalate_approval: { from: ['pending_approval'], to: 'same', webhook: 'payout.approval_escalated' },
  approval_recorded: { from: ['pending_approval'], to: 'same' },
  reject: { from: ['requested', 'pending_approval'], to: 'rejected', webhook: 'payout.rejected' },
  cancel: { from: CANCELLABLE, to: 'cancelled', webhook: 'payout.cancelled' },
  schedule: { from: [...ROUTABLE, 'submitting'], to: 'scheduled', webhook: 'payout.scheduled' },
  wait_for_providers: { from: [...ROUTABLE, 'submitting'], to: 'scheduled', webhook: 'payout.scheduled' },
  unroutable: { from: ROUTABLE, to: 'failed', webhook: 'payout.failed' },
  submit: { from: [...ROUTABLE, ...IN_ATTEMPT], to: 'submitting' },
  await_confirmation: { from: ['submitting'], to: 'awaiting_confirmation' },
  outcome_unknown: {
    from: ['submitting', 'awaiting_confirmation'],
    to: 'unknown_outcome',
    webhook: 'payout.unknown_outcome',
  },
  to_review: { from: ['unknown_outcome'], to: 'review', webhook: 'payout.review' },
  refuse_resolution: {
    from: ['unknown_outcome', 'review'],
    to: 'same',
    webhook: 'payout.resolution_refused',
  },
  pay: { from: IN_ATTEMPT, to: 'paid', webhook: 'payout.paid' },
  return: { from: ['paid'], to: 'returned', webhook: 'payout.returned' },
  fail: { from: [...ROUTABLE, ...IN_ATTEMPT], to: 'failed', webhook: 'payout.failed' },
  data_error: { from: OPEN, to: 'review', webhook: 'payout.review' },
  reconcile: { from: [...OPEN, ...FINAL_STATES], to: 'same', webhook: 'payout.reconcile_required' },
};

/**
 * The state `event` leads to from `state` and its webhook (`notice`: the state stays); undefined when the
 * event cannot happen there.
 */
export function nextState(
  state: PayoutState,
  event: PayoutEvent,
): { state: PayoutState; webhook?: PayoutWebhookEvent; notice: boolean } | undefined {
  const t = TRANSITIONS[event];
  if (!t.from.includes(state)) return undefined;
  const notice = t.to === 'same';
  return {
    state: notice ? state : (t.to as PayoutState),
    notice,
    ...(t.webhook ? { webhook: t.webhook } : {}),
  };
}

// ---- Decisions callers ask for: each answers why it is refused, or undefined when it may be taken ----

const storableReason = (reason: string) => unstorableText('reason', reason);

export function refuseApproval(
  st: PayoutStateDoc,
  requestedBy: Actor,
  { approver, reason }: ApprovalDecision,
): string | undefined {
  return (
    storableReason(reason) ??
    (approver.role !== 'approver'
      ? `role ${approver.role} cannot approve payouts`
      : approver.actor === requestedBy.actor
        ? `${approver.actor} requested this payout and cannot approve it`
        : st.state !== 'pending_approval'
          ? `payout ${st.payoutId} is ${st.state}, not pending approval`
          : st.approvals.some((a) => a.actor === approver.actor)
            ? `${approver.actor} has already decided on payout ${st.payoutId}`
            : !reason.trim()
              ? 'a decision needs a reason'
              : undefined)
  );
}

export function refuseCancel(
  st: PayoutStateDoc,
  requestedBy: Actor,
  { by, reason }: CancelRequest,
  alreadyCancelling: boolean,
): string | undefined {
  if (storableReason(reason)) return storableReason(reason);
  if (by.role !== 'operator' && by.role !== 'platform' && by.actor !== requestedBy.actor) {
    return `role ${by.role} cannot cancel payout ${st.payoutId}`;
  }
  if (!CANCELLABLE.includes(st.state) || alreadyCancelling) {
    return `payout ${st.payoutId} is ${st.state}; only payouts not yet submitted to a provider can be cancelled`;
  }
  return undefined;
}

export function refuseClearCompliance(
  st: PayoutStateDoc,
  { by, reason }: { by: Actor; reason: string },
  alreadyCleared: boolean,
): string | undefined {
  if (storableReason(reason)) return storableReason(reason);
  if (by.role !== 'operator') return 'only an operator can clear a compliance hold';
  if (st.state !== 'compliance_hold' || alreadyCleared) {
    return `payout ${st.payoutId} is ${st.state}, not on compliance hold`;
  }
  return undefined;
}

/** `refusedAttempt`: the attempt whose not-paid verdict the provider could not honour (force may override). */
export function refuseResolution(
  st: PayoutStateDoc,
  { by, outcome, force, reason }: UnknownOutcomeResolution,
  refusedAttempt: number | undefined,
): string | undefined {
  if (storableReason(reason)) return storableReason(reason);
  if (by.role !== 'operator') return 'only an operator can resolve an unknown provider outcome';
  if (st.state !== 'unknown_outcome' && st.state !== 'review') {
    return `payout ${st.payoutId} is ${st.state}; there is no unknown outcome to resolve`;
  }
  if (force && outcome !== 'not_paid') return 'force applies to a not_paid verdict only';
  if (force && (refusedAttempt === undefined || refusedAttempt !== st.attempts.at(-1)?.attemptNo)) {
    return (
      'force overrides a refused not_paid verdict only: resolve not_paid first, and force it once the ' +
      'provider, which could not cancel the attempt, has confirmed it will never pay'
    );
  }
  return undefined;
}

// ---- Approvals ----

/** Approvals needed: the amount's threshold, and at least one when a risk rule fired. */
export function approvalsNeeded(
  policy: Pick<PayoutPolicy, 'approvalsRequired'>,
  riskReasons: number,
): number {
  return Math.max(policy.approvalsRequired, riskReasons > 0 ? 1 : 0);
}

/** Where the approvals stand: approved, rejected (by whom), or still waiting; `timedOut` ends the wait. */
export function approvalOutcome(
  st: Pick<PayoutStateDoc, 'approvals' | 'approvalsRequired'>,
  timedOut: boolean,
): 'approved' | 'waiting' | Reason {
  const rejected = st.approvals.find((a) => a.decision === 'reject');
  if (rejected)
    return { code: 'approval_rejected', message: `rejected by ${rejected.actor}: ${rejected.reason}` };
  const approvers = new Set(st.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor));
  if (approvers.size >= st.approvalsRequired) return 'approved';
  return timedOut
    ? { code: 'approval_timeout', message: 'approval not given before the escalation deadline' }
    : 'waiting';
}

// ---- Attempts: what a failure or a provider's answer says about whether it paid ----

/** What a failed submission means for its attempt. */
export type SubmitFailure = 'declined' | 'outage' | 'destination_changed' | 'database' | 'unknown';

export function classifySubmitFailure(type: string | undefined): SubmitFailure {
  switch (type) {
    case PayoutFailure.providerDeclined:
      return 'declined';
    case PayoutFailure.providerOutage:
      return 'outage';
    case PayoutFailure.destinationChanged:
      return 'destination_changed';
    // The app's own database was away: nothing about the provider is known; submit again, same key.
    case PayoutFailure.databaseUnavailable:
      return 'database';
    // A timeout, exhausted retries or anything unexpected: the provider may have paid. Never guess.
    default:
      return 'unknown';
  }
}

/** What the attempt's outcome is, given a provider status; undefined while it is still unknown. */
export function statusVerdict(
  status: ProviderStatusOutcome,
  notFoundMeansUnpaid: boolean,
): { outcome: 'paid' | 'failed' | 'not_paid'; detail?: string; returned?: boolean } | undefined {
  if (status.state === 'paid') return { outcome: 'paid' };
  if (status.state === 'returned') return { outcome: 'paid', returned: true, ...detail(status.reason) };
  if (status.state === 'failed') return { outcome: 'failed', ...detail(status.reason) };
  // The provider has no record of the key after we waited, and has voided it: it can never pay.
  if (status.state === 'not_found' && notFoundMeansUnpaid) {
    return { outcome: 'not_paid', detail: status.reason ?? 'unknown to provider' };
  }
  return undefined;
}

/** The answer to cancelling an attempt at its provider: it stopped, it had paid, or it may still pay. */
export function stopVerdict(status: ProviderStatusOutcome): 'stopped' | 'paid' | 'unstoppable' {
  if (status.state === 'paid' || status.state === 'returned') return 'paid';
  return status.state === 'failed' || status.state === 'not_found' ? 'stopped' : 'unstoppable';
}

const detail = (reason: string | undefined) => (reason ? { detail: reason } : {});

/** The payout fails over only when every attempt so far is known not to have paid. */
export function mayHavePaid(attempts: readonly AttemptRecord[], sent: ReadonlySet<number>): boolean {
  return attempts.some((a) => sent.has(a.attemptNo) && !UNPAID_OUTCOMES.includes(a.outcome));
}

/** A round whose every attempt met an outage: worth waiting out and routing again. */
export function roundAllDown(attempts: readonly AttemptRecord[]): boolean {
  return attempts.length > 0 && attempts.every((a) => a.outcome === 'outage');
}

// ---- Waits and backoffs ----

export const MAX_CONFIRMATION_POLL_MS = 30 * 60 * 1000;
export const FIRST_DATABASE_WAIT_MS = 10_000;
export const MAX_DATABASE_WAIT_MS = 5 * 60 * 1000;
export const MAX_OUTAGE_BACKOFF_MS = 60 * 60 * 1000;
/** How long a workflow waits for its payout row (its starter writes it first; a start may race the insert). */
export const FIRST_ROW_WAIT_MS = 1000;
export const MAX_ROW_WAIT_MS = 60_000;
export const ROW_WAIT_DEADLINE_MS = 10 * 60 * 1000;

/** Doubling, at most `max`, never below where it is (a first interval above `max` stays). */
export function backoff(currentMs: number, maxMs: number): number {
  return Math.max(currentMs, Math.min(currentMs * 2, maxMs));
}

/**
 * Every capable provider is down: how long to wait before routing again (doubling from the policy's first
 * wait, at most an hour, never past the deadline), or give up once the deadline has passed.
 */
export function outageWait(o: {
  firstMs: number;
  previousMs: number | undefined;
  deadline: number;
  now: number;
}): { waitMs: number; nextMs: number } | 'give_up' {
  const current = o.previousMs ?? o.firstMs;
  const waitMs = Math.min(current, o.deadline - o.now);
  if (waitMs <= 0) return 'give_up';
  return { waitMs, nextMs: Math.min(current * 2, MAX_OUTAGE_BACKOFF_MS) };
}

// ---- A step that failed for a data reason ----

/**
 * The payout after a step failed for a data reason: attempts never handed to a provider count as not paid;
 * funds are released only when no attempt may have paid. The payout goes to review with the reason.
 */
export function dataErrorReview(
  st: PayoutStateDoc,
  sent: ReadonlySet<number>,
): { attempts: AttemptRecord[]; release: boolean } {
  const attempts = st.attempts.map((a) =>
    !sent.has(a.attemptNo) && a.outcome === 'submitting'
      ? { ...a, outcome: 'not_paid' as const, detail: 'never submitted: the step before it failed' }
      : a,
  );
  return { attempts, release: !mayHavePaid(attempts, sent) };
}

/** A status with every caller-given text left out: what can still be recorded when that text cannot. */
export function withoutFreeText(status: PayoutStateDoc): PayoutStateDoc {
  return {
    ...status,
    approvals: status.approvals.map((a) => ({ ...a, reason: '' })),
    attempts: status.attempts.map(({ detail: _detail, ...a }) => a),
    reasons: status.reasons.map((r) => (r.code === 'data_error' ? r : { ...r, message: '' })),
  };
}
