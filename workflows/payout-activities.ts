// Types of the activities the payout workflow calls. Workflows import this file as types only; the
// implementations live in activities/payout.ts and call domain services in src/.
import type { MoneyWire } from '../src/money/wire.ts';
import type { PayoutInput, PayoutStateDoc, Reason } from '../src/payouts/state.ts';

/** Timeouts and thresholds resolved for one payout from configuration when it starts (recorded in history). */
export interface PayoutPolicy {
  approvalsRequired: number;
  /** Why approval is required when the amount alone does not say (e.g. no thresholds for the currency). */
  approvalReason?: Reason;
  approvalTimeoutMs: number;
  escalationTimeoutMs: number;
  complianceWaitMs: number;
  confirmationPollMs: number;
  confirmationDeadlineMs: number;
  unknownOutcomeDeadlineMs: number;
  reviewRecheckMs: number;
  providerOutageRetryMs: number;
  providerOutageDeadlineMs: number;
}

export interface RoutePlan {
  rail: 'instant' | 'scheduled';
  reason: string;
  /** ISO instant of the payout window when scheduled. */
  windowAt?: string;
  /** Provider names, best first. */
  candidates: string[];
  /** Why no provider can be tried at all, when that is not "no provider supports it" (e.g. no destination). */
  unroutable?: { code: string; message: string };
  /** No candidate only because every capable provider is down: the payout may wait and route again. */
  providersDown?: boolean;
  fee?: MoneyWire;
  /** Amount the provider pays out: amount - fee - withholding. */
  net: MoneyWire;
}

/**
 * checkCompliance; unless it blocks, assessRisk; and when no approval is needed (neither by amount nor by
 * risk), planRoute with the risk clear.
 */
export interface Screening {
  compliance: { blocked: Reason[]; withholding?: MoneyWire };
  risk?: { reasons: Reason[] };
  plan?: RoutePlan;
}

export interface AttemptRef {
  payoutId: string;
  provider: string;
  attemptNo: number;
}

export interface SubmitOutcome {
  state: 'paid' | 'pending';
  providerRef: string;
}

export interface ProviderStatusOutcome {
  state: 'not_found' | 'pending' | 'paid' | 'failed' | 'returned';
  reason?: string;
}

export interface PayoutActivities {
  /**
   * Reads the payout's row (written by whoever started the workflow; it is not written again here), holds
   * the funds and records `status`; insufficient funds come back as `rejected`, no row as PayoutRowMissing.
   * Then, in the same step and from the same reads, screens the payout (`screened`). `at`: the workflow's
   * current time (ISO), for the route.
   */
  admitPayout(input: {
    input: PayoutInput;
    status: PayoutStateDoc;
    at: string;
  }): Promise<{ policy: PayoutPolicy; screened: Screening } | { rejected: string }>;
  assessRisk(input: { payoutId: string }): Promise<{ reasons: Reason[] }>;
  /** `at`: the workflow's current time (ISO), so payout windows follow workflow time, virtual in tests. */
  planRoute(input: { payoutId: string; riskClear: boolean; at: string }): Promise<RoutePlan>;
  submitToProvider(input: AttemptRef & { rail: 'instant' | 'scheduled' }): Promise<SubmitOutcome>;
  /**
   * `voidIfUnknown`: a key unknown to the provider is voided there first (`not_found` = can never pay).
   * `cancelAttempt`: cancel the attempt at the provider; `failed`/`not_found` = stopped, `pending` = it could
   * not be stopped, `paid` = it had paid.
   */
  checkProviderStatus(
    input: AttemptRef & { voidIfUnknown?: boolean; cancelAttempt?: boolean },
  ): Promise<ProviderStatusOutcome>;
  /** settlePayout + recordPayoutState(status, event). */
  settleAndRecord(
    input: AttemptRef & { status: PayoutStateDoc; event: string },
  ): Promise<{ eventId?: string }>;
  releaseFunds(input: { payoutId: string; reason: string }): Promise<void>;
  /** The return path (src/payouts/late-return.ts): the paid payout reversed and recorded `returned`. */
  returnPayout(input: ReturnRequest): Promise<ReturnOutcome>;
  /** `eventId`: the event to deliver; absent when there is none, or no webhook endpoint to deliver it to. */
  recordPayoutState(input: {
    status: PayoutStateDoc;
    event?: string;
    eventKey?: string;
  }): Promise<{ eventId?: string }>;
  deliverWebhook(input: { eventId: string }): Promise<void>;
}

/** A return reported by `provider` for the attempt under `idempotencyKey`. */
export interface ReturnRequest {
  payoutId: string;
  provider: string;
  idempotencyKey: string;
  reason: string;
}

/**
 * `return_recorded`: reversed now; `already_returned`: it was before; `ignored`: not the paid attempt, or
 * the payout is not paid. `status`: the payout as recorded, when returned.
 */
export interface ReturnOutcome {
  outcome: 'return_recorded' | 'already_returned' | 'ignored';
  why?: string;
  eventId?: string;
  status?: PayoutStateDoc;
}

/** Failure types raised by payout activities (ApplicationFailure.type); stable names, matched by the workflow. */
export const PayoutFailure = {
  insufficientFunds: 'InsufficientFunds',
  providerRetryable: 'ProviderRetryable',
  providerOutage: 'ProviderOutage',
  providerDeclined: 'ProviderDeclined',
  providerTimeout: 'ProviderTimeout',
  /** The payee's destination is not the one the payout was screened against; nothing was submitted. */
  destinationChanged: 'DestinationChanged',
  /** The app's own database was unreachable (any activity): retried; never a provider outcome. */
  databaseUnavailable: 'DatabaseUnavailable',
  /**
   * A step's values cannot be stored (SQLSTATE class 22/23/42: bad text, a broken constraint): never retried,
   * it fails the same way every time. `details[0]` is `{ step, sqlState }`.
   */
  dataError: 'DataError',
  /**
   * The payout's row is final already (a run started again once Temporal's retention deleted the one that
   * finished it): the run ends in its first step, nothing held, submitted or recorded.
   */
  payoutFinal: 'PayoutFinal',
  /** The payout's row is not there (yet): its starter writes it first; the workflow waits a while for it. */
  payoutRowMissing: 'PayoutRowMissing',
} as const;
