// The period-close workflow's public contract (id `period-<periodId>`): input, progress, updates and the
// activity interface. The API imports these same definitions.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../src/auth/actor.ts';
import type { PayoutWave } from '../src/payouts/state.ts';

/** Amounts per currency in signed minor units (strings). */
export type Totals = Record<string, string>;

export type PeriodStage =
  | 'closing'
  | 'calculating'
  | 'awaiting_approval'
  | 'open_for_corrections'
  | 'posting'
  | 'paying_out'
  /** An approved run stopped part-way on a data error; closing the period again resumes it. */
  | 'review'
  | 'completed';

/**
 * A step that failed for a data reason (a value the database cannot store, a broken constraint): no retry
 * can fix it, so the close stops and says where. Before approval nothing is posted and the period is
 * reopened for corrections; after approval it waits in `review` and resumes where it stopped.
 */
export interface PeriodProblem {
  code: 'data_error';
  /** The stage the close was in, the activity that failed, and its batch when it was a batch step. */
  stage: PeriodStage;
  step: string;
  batch?: number;
  run: number;
  /** The database's words and SQLSTATE, or a domain error's words and code (e.g. `plan_not_found`). */
  message: string;
  sqlState?: string;
  errorCode?: string;
  at: string;
  outcome: 'reopened' | 'review';
  /** Who closed the period again after it (and when). */
  retried?: { by: string; at: string };
}

export interface BatchSummary {
  batch: number;
  payees: number;
  statements: number;
  totals: Totals;
  /** True when the batch had been committed before (a resumed or retried activity). */
  resumed: boolean;
  payouts?: number;
  receivable?: string;
}

export interface DiffSummary {
  fromRun: number;
  toRun: number;
  changedStatements: number;
  addedStatements: number;
  removedStatements: number;
  totals: { currency: string; before: string; after: string; delta: string }[];
}

export interface RunSummary {
  run: number;
  planVersion: string;
  totals: Totals;
  payees: number;
  statements: number;
  approvalsRequired: number;
  diff?: DiffSummary;
}

export interface CompletionSummary {
  periodId: string;
  run: number;
  postings: number;
  totals: Totals;
  receivableCarried: string;
  /** Payouts by state when the period completed (final or parked for review). */
  payouts: Record<string, number>;
}

/** A `startPayouts` call: its waves' starts, how the queue stands after the last one. */
export interface PeriodPayoutWave extends PayoutWave {
  /** The activity waited for slots itself (it was given `waitMs`): the workflow needs no timer before the next call. */
  waited?: boolean;
}

export interface ApprovalRecord {
  actor: string;
  decision: 'approve' | 'reject';
  reason: string;
  run: number;
  at: string;
}

export interface PeriodProgress {
  periodId: string;
  stage: PeriodStage;
  run: number;
  planVersion: string;
  calculation: { batchesDone: number; batchesTotal: number; payees: number; totals: Totals };
  approvalsRequired: number;
  approvals: ApprovalRecord[];
  reminders: number;
  escalated: boolean;
  /** While approval is awaited: when the approvers are next reminded, or the approval escalates. */
  nextTimer?: { purpose: 'reminder' | 'escalation'; at: string };
  lastDiff?: DiffSummary;
  posting: { batchesDone: number; batchesTotal: number; resumedBatches: number };
  payouts: { started: number; inFlight: number; total: number };
  closedBy: string;
  /** Earlier runs of this workflow (continue-as-new): how many, their events, the largest one. */
  history: { continuedAsNew: number; eventsInEarlierRuns: number; largestRun: number };
  summary?: CompletionSummary;
  /** Every data error the close met, oldest first; the last one is open while the stage is `review`. */
  problems?: PeriodProblem[];
}

export interface PeriodInput {
  periodId: string;
  planVersion?: string;
  closedBy: Actor;
  /** Timers and fan-out window (from configuration, fixed for the workflow's life). */
  policy: {
    reminderMs: number;
    escalationMs: number;
    payoutWindow: number;
    payoutPollMs: number;
    /** Continue-as-new once a run's history passes this many events (default 4,000). */
    historyLimit?: number;
  };
  /** State carried across continue-as-new. */
  carried?: PeriodProgress;
}

export interface RecalculateRequest {
  by: Actor;
  planVersion: string;
}

export interface PeriodDecision {
  approver: Actor;
  decision: 'approve' | 'reject';
  reason: string;
}

export const periodProgressQuery = defineQuery<PeriodProgress>('periodProgress');
export const recalculateUpdate = defineUpdate<DiffSummary, [RecalculateRequest]>('recalculate');
export const decidePeriodUpdate = defineUpdate<PeriodProgress, [PeriodDecision]>('decidePeriod');
/**
 * After corrections (a rejection or a data error reopened the period): close it again and recalculate; in
 * `review`: resume the approved run where it stopped.
 */
export const resubmitUpdate = defineUpdate<PeriodProgress, [{ by: Actor; planVersion?: string }]>(
  'resubmitPeriod',
);

export function periodWorkflowId(periodId: string): string {
  return `period-${periodId}`;
}

export interface PeriodActivities {
  closePeriod(input: { periodId: string; planVersion?: string }): Promise<{ planVersion: string }>;
  reopenPeriod(input: { periodId: string }): Promise<void>;
  prepareRun(input: {
    periodId: string;
    run: number;
    planVersion: string;
  }): Promise<{ batches: number; payees: number }>;
  calculateBatch(input: { periodId: string; run: number; batch: number }): Promise<BatchSummary>;
  finishRun(input: {
    periodId: string;
    run: number;
    planVersion: string;
    previousRun: number | null;
  }): Promise<RunSummary>;
  postBatch(input: { periodId: string; run: number; batch: number }): Promise<BatchSummary>;
  markPosted(input: { periodId: string }): Promise<void>;
  /**
   * Starts payouts while fewer than `window` are in flight; with `waitMs`, keeps filling freed slots for up
   * to that long (or until none waits or is in flight) before it answers.
   */
  startPayouts(input: { periodId: string; window: number; waitMs?: number }): Promise<PeriodPayoutWave>;
  completePeriod(input: { periodId: string; run: number }): Promise<CompletionSummary>;
  notifyApprovers(input: {
    periodId: string;
    kind: 'reminder' | 'escalation';
    count: number;
  }): Promise<string>;
  deliverPeriodWebhook(input: { eventId: string }): Promise<void>;
  /** Records the `period.data_error` webhook event (seq: the problem's number) and returns its id. */
  reportProblem(input: { periodId: string; seq: number; problem: PeriodProblem }): Promise<string>;
}
