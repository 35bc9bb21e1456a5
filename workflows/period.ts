// One durable workflow per commission period (id `period-<periodId>`): close → calculate in resumable
// batches → preview/recalculate → approval (reminder, escalation; rejection reopens for corrections) →
// post one ledger transaction per payee → fan out auto-payouts in a bounded window → completion summary.
// History stays small: batches are hundreds of payees per activity, payouts are started by an activity in
// waves (not as child workflows) that keeps filling the window for a poll interval per call, and long
// stages continue-as-new before the history grows large.
// A step that fails for a data reason (a database data error, or a domain error no retry fixes such as an
// unknown plan version) stops the close visibly (reopened for corrections before approval,
// `review` after it) with the problem in progress and a `period.data_error` webhook; it never retries forever.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Actor } from '../src/auth/actor.ts';
import { PayoutFailure } from './payout-activities.ts';
import { failureMessage, failureStep, failureType } from './payout-steps.ts';
import {
  type CompletionSummary,
  decidePeriodUpdate,
  type PeriodActivities,
  type PeriodDecision,
  type PeriodInput,
  type PeriodProblem,
  type PeriodProgress,
  type PeriodStage,
  periodProgressQuery,
  type RecalculateRequest,
  recalculateUpdate,
  resubmitUpdate,
  type Totals,
} from './period-contract.ts';
import { storable, unstorableText } from './text.ts';

const acts = proxyActivities<PeriodActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

// Batch activities heartbeat; a worker that dies mid-batch is noticed within the heartbeat timeout and
// the batch is retried elsewhere (a committed batch is recognised and not redone).
const batches = proxyActivities<
  Pick<PeriodActivities, 'prepareRun' | 'calculateBatch' | 'postBatch' | 'startPayouts'>
>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '60s', // a worker that died mid-batch is noticed quickly; batches heartbeat far more often
  retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
});

const webhooks = proxyActivities<Pick<PeriodActivities, 'deliverPeriodWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 25 },
});

/** Continue-as-new well before Temporal's limits and the ~10k events this project allows per history. */
const HISTORY_LIMIT = 4_000;
/** Batches run this many at a time (2 cores: more would only queue on the database). */
const PARALLEL_BATCHES = 2;

function initial(input: PeriodInput): PeriodProgress {
  return {
    periodId: input.periodId,
    stage: 'closing',
    run: 0,
    planVersion: input.planVersion ?? '',
    calculation: { batchesDone: 0, batchesTotal: -1, payees: 0, totals: {} },
    approvalsRequired: 1,
    approvals: [],
    reminders: 0,
    escalated: false,
    posting: { batchesDone: 0, batchesTotal: -1, resumedBatches: 0 },
    payouts: { started: 0, inFlight: 0, total: 0 },
    closedBy: input.closedBy.actor,
    history: { continuedAsNew: 0, eventsInEarlierRuns: 0, largestRun: 0 },
  };
}

/** A batch step's failure with the batch it was for, so a data error can name the batch. */
class BatchFailed extends Error {
  readonly batch: number;
  readonly failure: unknown;
  constructor(batch: number, failure: unknown) {
    super(failureMessage(failure));
    this.name = 'BatchFailed';
    this.batch = batch;
    this.failure = failure;
  }
}

function inBatch<T>(batch: number, call: Promise<T>): Promise<T> {
  return call.catch((failure: unknown) => {
    throw new BatchFailed(batch, failure);
  });
}

/** A DataError's detail: `sqlState` for a database error, `errorCode` for a domain error (activities/). */
function detailOf(failure: unknown, key: 'sqlState' | 'errorCode'): string | undefined {
  const cause = failure instanceof ActivityFailure ? failure.cause : failure;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  const value = (details?.[0] as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** Stages after approval: some of the approved run may be posted, so the period cannot be reopened. */
const APPROVED: readonly PeriodStage[] = ['posting', 'paying_out', 'completed'];

function addTotals(into: Totals, add: Totals) {
  for (const [c, v] of Object.entries(add)) into[c] = (BigInt(into[c] ?? '0') + BigInt(v)).toString();
}

export async function periodCloseWorkflow(input: PeriodInput): Promise<CompletionSummary> {
  const p: PeriodProgress = input.carried ?? initial(input);
  const { periodId, policy } = input;
  let recalc: RecalculateRequest | undefined;
  let resubmitted: { by: Actor; planVersion?: string } | undefined;
  const problemCount = () => p.problems?.length ?? 0;

  if (!input.carried) upsertSearchAttributes({ PeriodId: [periodId] });

  const currentApprovals = () => p.approvals.filter((a) => a.run === p.run);
  const rejected = () => currentApprovals().some((a) => a.decision === 'reject');
  const approved = () =>
    currentApprovals().filter((a) => a.decision === 'approve').length >= p.approvalsRequired;

  setHandler(periodProgressQuery, () => p);
  setHandler(
    decidePeriodUpdate,
    (d: PeriodDecision) => {
      p.approvals.push({
        actor: d.approver.actor,
        decision: d.decision,
        reason: d.reason,
        run: p.run,
        at: new Date().toISOString(),
      });
      return p;
    },
    {
      validator: (d: PeriodDecision) => {
        if (d.approver.role !== 'approver') throw new Error('only finance approvers can decide a period');
        if (p.stage !== 'awaiting_approval' || recalc)
          throw new Error(
            `period ${periodId} is ${recalc ? 'being recalculated' : p.stage}; it is not awaiting approval`,
          );
        if (d.approver.actor === p.closedBy)
          throw new Error('the person who closed the period cannot approve it');
        if (currentApprovals().some((a) => a.actor === d.approver.actor))
          throw new Error(
            `${d.approver.actor} has already decided run ${p.run}; a second approver must be a different person`,
          );
        if (!d.reason && d.decision === 'reject') throw new Error('a rejection needs a reason');
        const unstorable = unstorableText('reason', d.reason);
        if (unstorable) throw new Error(unstorable);
      },
    },
  );
  setHandler(
    recalculateUpdate,
    async (r: RecalculateRequest) => {
      recalc = r;
      const target = p.run + 1;
      const problems = problemCount();
      await condition(
        () => (p.run >= target && p.stage === 'awaiting_approval') || problemCount() > problems,
      );
      // A data error stopped the new run: the update ends (refused) so no handler is left waiting.
      if (problemCount() > problems)
        throw ApplicationFailure.nonRetryable(
          `the recalculation of period ${periodId} stopped on a data error: ${p.problems!.at(-1)!.message}`,
        );
      return p.lastDiff!;
    },
    {
      validator: (r: RecalculateRequest) => {
        if (p.stage !== 'awaiting_approval' || recalc)
          throw new Error(`period ${periodId} is ${p.stage}; recalculation is possible only before approval`);
        if (!r.planVersion) throw new Error('planVersion is required');
      },
    },
  );
  setHandler(
    resubmitUpdate,
    (r: { by: Actor; planVersion?: string }) => {
      resubmitted = r;
      return p;
    },
    {
      validator: (r: { by: Actor; planVersion?: string }) => {
        if (p.stage === 'review') {
          if (r.planVersion && r.planVersion !== p.planVersion)
            throw new Error(
              `period ${periodId} stopped on a data error after run ${p.run} was approved: closing it again resumes that run with plan ${p.planVersion}; a plan version cannot be given`,
            );
          return;
        }
        if (p.stage !== 'open_for_corrections')
          throw new Error(
            `period ${periodId} is ${p.stage}; only a period reopened for corrections or in review can be closed again`,
          );
      },
    },
  );

  async function maybeContinue(): Promise<void> {
    const info = workflowInfo();
    if (
      (info.historyLength > (policy.historyLimit ?? HISTORY_LIMIT) || info.continueAsNewSuggested) &&
      allHandlersFinished()
    ) {
      log.info('period workflow continues as new', {
        periodId,
        historyLength: info.historyLength,
        stage: p.stage,
      });
      p.history = {
        continuedAsNew: p.history.continuedAsNew + 1,
        eventsInEarlierRuns: p.history.eventsInEarlierRuns + info.historyLength,
        largestRun: Math.max(p.history.largestRun, info.historyLength),
      };
      await continueAsNew<typeof periodCloseWorkflow>({ ...input, carried: p });
    }
  }

  async function calculate(): Promise<void> {
    if (p.calculation.batchesTotal < 0) {
      const prepared = await batches.prepareRun({ periodId, run: p.run, planVersion: p.planVersion });
      p.calculation = { batchesDone: 0, batchesTotal: prepared.batches, payees: prepared.payees, totals: {} };
    }
    while (p.calculation.batchesDone < p.calculation.batchesTotal) {
      const first = p.calculation.batchesDone;
      const ids = Array.from(
        { length: Math.min(PARALLEL_BATCHES, p.calculation.batchesTotal - first) },
        (_, i) => first + i,
      );
      const results = await Promise.all(
        ids.map((batch) => inBatch(batch, batches.calculateBatch({ periodId, run: p.run, batch }))),
      );
      for (const r of results) addTotals(p.calculation.totals, r.totals);
      p.calculation.batchesDone += ids.length;
      await maybeContinue();
    }
    const s = await acts.finishRun({
      periodId,
      run: p.run,
      planVersion: p.planVersion,
      previousRun: p.run > 1 ? p.run - 1 : null,
    });
    p.calculation.totals = s.totals;
    p.approvalsRequired = s.approvalsRequired;
    if (s.diff) p.lastDiff = s.diff;
  }

  async function awaitDecision(): Promise<void> {
    const decided = () => recalc !== undefined || rejected() || approved();
    // Approvers see when the next reminder or the escalation is due: set whenever no one has decided yet
    // and the approval has not escalated.
    const due = (purpose: 'reminder' | 'escalation', ms: number) => {
      p.nextTimer = { purpose, at: new Date(Date.now() + ms).toISOString() };
    };
    const untilEscalation = Math.max(1, policy.escalationMs - policy.reminderMs);
    due('reminder', policy.reminderMs);
    if (!(await condition(decided, policy.reminderMs))) {
      p.reminders++;
      due('escalation', untilEscalation);
      await acts.notifyApprovers({ periodId, kind: 'reminder', count: p.reminders });
      due('escalation', untilEscalation);
      if (!(await condition(decided, untilEscalation))) {
        p.escalated = true;
        p.nextTimer = undefined;
        await acts.notifyApprovers({ periodId, kind: 'escalation', count: 1 });
        await condition(decided);
      }
    }
    p.nextTimer = undefined;
  }

  /**
   * A step failed for a data reason: record where and why, reopen the period when nothing of the run is
   * posted (else wait in review), and tell operators by webhook. The problem's text is made storable first.
   */
  async function stopOnDataError(failure: unknown, batch: number | undefined): Promise<void> {
    const approved = APPROVED.includes(p.stage);
    const sqlState = detailOf(failure, 'sqlState');
    const errorCode = detailOf(failure, 'errorCode');
    const problem: PeriodProblem = storable({
      code: 'data_error',
      stage: p.stage,
      step: failureStep(failure),
      ...(batch !== undefined ? { batch } : {}),
      run: p.run,
      message: failureMessage(failure),
      ...(sqlState ? { sqlState } : {}),
      ...(errorCode ? { errorCode } : {}),
      at: new Date().toISOString(),
      outcome: approved ? 'review' : 'reopened',
    });
    p.problems = [...(p.problems ?? []), problem];
    p.nextTimer = undefined;
    log.error('period close step failed for a data reason and cannot succeed on retry', {
      periodId,
      stage: problem.stage,
      step: problem.step,
      batch,
      error: problem.message,
    });
    p.stage = approved ? 'review' : 'open_for_corrections';
    if (!approved) await acts.reopenPeriod({ periodId });
    try {
      const eventId = await acts.reportProblem({ periodId, seq: problemCount(), problem });
      await webhooks.deliverPeriodWebhook({ eventId });
    } catch (err) {
      if (failureType(err) !== PayoutFailure.dataError) throw err;
      log.error('the period.data_error webhook could not be recorded', {
        periodId,
        error: failureMessage(err),
      });
    }
  }

  /** The operator closed the period again: the open problem (if any) says who and when. */
  function markRetried(by: Actor) {
    const last = p.problems?.at(-1);
    if (last && !last.retried) last.retried = { by: by.actor, at: new Date().toISOString() };
  }

  function startRun(planVersion: string) {
    p.planVersion = planVersion;
    p.run += 1;
    p.calculation = { batchesDone: 0, batchesTotal: -1, payees: 0, totals: {} };
    p.stage = 'calculating';
  }

  for (;;) {
    try {
      await step();
      if (p.stage === 'completed') {
        await condition(allHandlersFinished);
        return p.summary!;
      }
    } catch (err) {
      const failure = err instanceof BatchFailed ? err.failure : err;
      if (failureType(failure) !== PayoutFailure.dataError) throw failure;
      await stopOnDataError(failure, err instanceof BatchFailed ? err.batch : undefined);
    }
  }

  /** Runs the current stage once, moving `p.stage` on. */
  async function step(): Promise<void> {
    switch (p.stage) {
      case 'closing': {
        const closed = await acts.closePeriod({
          periodId,
          ...(p.planVersion ? { planVersion: p.planVersion } : {}),
        });
        startRun(closed.planVersion);
        break;
      }
      case 'calculating':
        await calculate();
        p.stage = 'awaiting_approval';
        break;
      case 'awaiting_approval':
        await awaitDecision();
        if (recalc) {
          const planVersion = recalc.planVersion;
          recalc = undefined;
          startRun(planVersion);
        } else if (rejected()) {
          await acts.reopenPeriod({ periodId });
          p.stage = 'open_for_corrections';
        } else {
          p.stage = 'posting';
          p.posting = { batchesDone: 0, batchesTotal: p.calculation.batchesTotal, resumedBatches: 0 };
        }
        break;
      case 'open_for_corrections':
        await condition(() => resubmitted !== undefined);
        markRetried(resubmitted!.by);
        p.planVersion = resubmitted?.planVersion ?? p.planVersion;
        resubmitted = undefined;
        p.reminders = 0;
        p.escalated = false;
        p.stage = 'closing';
        break;
      case 'posting':
        while (p.posting.batchesDone < p.posting.batchesTotal) {
          const first = p.posting.batchesDone;
          const ids = Array.from(
            { length: Math.min(PARALLEL_BATCHES, p.posting.batchesTotal - first) },
            (_, i) => first + i,
          );
          const results = await Promise.all(
            ids.map((batch) => inBatch(batch, batches.postBatch({ periodId, run: p.run, batch }))),
          );
          p.posting.resumedBatches += results.filter((r) => r.resumed).length;
          p.posting.batchesDone += ids.length;
          await maybeContinue();
        }
        await acts.markPosted({ periodId });
        p.stage = 'paying_out';
        break;
      case 'paying_out':
        for (;;) {
          // The activity fills freed slots itself for up to one poll interval, so the history grows by one
          // activity per interval instead of an activity and a timer per wave.
          const wave = await batches.startPayouts({
            periodId,
            window: policy.payoutWindow,
            waitMs: policy.payoutPollMs,
          });
          p.payouts = {
            started: p.payouts.started + wave.started,
            inFlight: wave.inFlight,
            total: wave.total,
          };
          if (wave.waiting === 0 && wave.inFlight === 0) break;
          // Histories recorded before the activity waited (no `waited`) replay their timer.
          if (wave.started === 0 && !wave.waited) await sleep(policy.payoutPollMs);
          await maybeContinue();
        }
        p.summary = await acts.completePeriod({ periodId, run: p.run });
        p.stage = 'completed';
        await webhooks.deliverPeriodWebhook({ eventId: `period.completed:${periodId}` });
        break;
      case 'review': {
        // Committed batches are recognised, so the stopped stage resumes where it stopped.
        await condition(() => resubmitted !== undefined);
        markRetried(resubmitted!.by);
        resubmitted = undefined;
        p.stage = p.problems!.at(-1)!.stage;
        break;
      }
      case 'completed':
        break;
    }
  }
}
