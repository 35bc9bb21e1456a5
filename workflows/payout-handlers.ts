// How a payout answers requests while it runs: its status query, provider events (judged by the one
// double-payment check) and the decisions callers send as updates, each validated by a pure decision and
// answered once the workflow acted on it (payout-steps.ts answerAfter).
import { log, setHandler } from '@temporalio/workflow';
import { PayoutFailure } from './payout-activities.ts';
import {
  cancelPayoutUpdate,
  clearComplianceUpdate,
  complianceClearedSignal,
  decideApprovalUpdate,
  payoutStatusQuery,
  providerEventSignal,
  resolveUnknownOutcomeUpdate,
} from './payout-contract.ts';
import * as decide from './payout-decisions.ts';
import { failureMessage, failureType, type PayoutRun } from './payout-steps.ts';

/** Queries, signals and updates: each update validated by a pure decision, answered after it is acted on. */
export function handleRequests(run: PayoutRun): void {
  const { st, input } = run;
  const refuse = (why: string | undefined) => {
    if (why) throw new Error(why);
  };
  setHandler(payoutStatusQuery, () => run.snapshot());
  setHandler(providerEventSignal, async (event) => {
    // Providers may deliver the same webhook more than once: the event id makes it a no-op.
    if (run.seenEventIds.has(event.eventId)) return;
    run.seenEventIds.add(event.eventId);
    const judged = decide.judgeProviderEvent(st, event);
    const fields = {
      payoutId: st.payoutId,
      idempotencyKey: event.idempotencyKey,
      from: event.provider ?? 'unnamed',
    };
    if (judged.reconcile) {
      log.error('provider reports paid an attempt counted as not paid: possible double payment', fields);
      st.reasons.push(judged.reconcile);
      // Committed and sent now, not at the next transition (there may be none for days).
      try {
        await run.move('reconcile', undefined, event.idempotencyKey.split(':').at(-1));
      } catch (err) {
        // Not thrown from a handler, which would fail the workflow: the next record meets it again.
        if (failureType(err) !== PayoutFailure.dataError) throw err;
        log.error('recording reconcile_required failed for a data reason', {
          ...fields,
          error: failureMessage(err),
        });
      }
    } else if (!judged.take) {
      log.warn(`provider event ignored: ${judged.why}`, fields);
    } else if (!run.providerEvents.has(event.idempotencyKey) || event.type === 'returned') {
      run.providerEvents.set(event.idempotencyKey, event);
    }
  });
  const clear = ({ by, reason }: { by: { actor: string }; reason: string }) => {
    run.clearedBy = by.actor;
    st.reasons.push({ code: 'compliance_cleared', message: `cleared by ${by.actor}: ${reason}` });
  };
  // The signal is the fire-and-forget form of clearing; the update answers.
  setHandler(complianceClearedSignal, (c) => {
    if (!decide.refuseClearCompliance(st, c, run.clearedBy !== undefined)) clear(c);
  });
  setHandler(
    clearComplianceUpdate,
    (c) => {
      clear(c);
      return run.answerAfter(() => st.state !== 'compliance_hold');
    },
    { validator: (c) => refuse(decide.refuseClearCompliance(st, c, run.clearedBy !== undefined)) },
  );
  setHandler(
    decideApprovalUpdate,
    (d) => {
      st.approvals.push({
        actor: d.approver.actor,
        decision: d.decision,
        reason: d.reason,
        at: new Date().toISOString(),
      });
      const count = st.approvals.length;
      // An approval that leaves the payout waiting answers once it is recorded; a decisive one once acted on.
      return run.answerAfter(() =>
        decide.approvalOutcome(st, false) === 'waiting'
          ? run.recordedApprovals >= count
          : st.state !== 'pending_approval',
      );
    },
    { validator: (d) => refuse(decide.refuseApproval(st, input.requestedBy, d)) },
  );
  setHandler(
    cancelPayoutUpdate,
    ({ by, reason }) => {
      run.cancellation = { by: by.actor, reason };
      return run.answerAfter(() => !decide.CANCELLABLE.includes(st.state));
    },
    {
      validator: (c) => refuse(decide.refuseCancel(st, input.requestedBy, c, run.cancellation !== undefined)),
    },
  );
  setHandler(
    resolveUnknownOutcomeUpdate,
    (verdict) => {
      run.verdict = verdict;
      const from = st.state;
      const refusals = () => st.reasons.filter((r) => r.code === 'operator_resolution_refused').length;
      const before = refusals();
      // Taken up once acted on (moved on, or refused: the provider could not stop the attempt), or once
      // the outcome got known another way meanwhile.
      return run.answerAfter(
        () =>
          (run.verdict !== verdict && (st.state !== from || refusals() > before)) ||
          (st.state !== 'unknown_outcome' && st.state !== 'review'),
      );
    },
    { validator: (v) => refuse(decide.refuseResolution(st, v, run.refusedAttempt)) },
  );
}
