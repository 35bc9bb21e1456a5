// One durable workflow per payout (id `payout-<payoutId>`): hold the funds → screen (compliance, risk) →
// approval → route → provider attempts with failover → settle, or release on failure. It ends when the
// payout is final; a return after that goes through the return path (src/payouts/late-return.ts).
// Deterministic code only: side effects are activities, decisions are pure (payout-decisions.ts).
import { condition, log, upsertSearchAttributes } from '@temporalio/workflow';
import type { PayoutInput, PayoutStateDoc, Reason } from '../src/payouts/state.ts';
import { PayoutFailure, type RoutePlan } from './payout-activities.ts';
import { attemptProvider } from './payout-attempt.ts';
import * as decide from './payout-decisions.ts';
import { handleRequests } from './payout-handlers.ts';
import { reviewDataError } from './payout-review.ts';
import { failureMessage, failureType, PayoutRun } from './payout-steps.ts';

export async function payoutWorkflow(input: PayoutInput): Promise<PayoutStateDoc> {
  const run = new PayoutRun(input);
  handleRequests(run);
  try {
    return await payout(run);
  } catch (err) {
    if (failureType(err) !== PayoutFailure.dataError) throw err;
    return reviewDataError(run, err);
  }
}

async function payout(run: PayoutRun): Promise<PayoutStateDoc> {
  const { st, input } = run;
  const { payoutId } = input;
  upsertSearchAttributes({
    PayeeId: [input.payeeId],
    // Int search attribute for operators' range filters only; money math never uses this number.
    PayoutAmount: [Number(input.amount.amount)],
    Currency: [input.amount.currency],
    PayoutState: ['requested'],
    ...(input.periodId ? { PeriodId: [input.periodId] } : {}),
  });
  // 1. Hold the funds, 2. screen (compliance, and when nothing stops the payout in between, risk and route
  // with it): one step.
  const admitted = await run.admit();
  if ('rejected' in admitted) {
    return run.finish('insufficient_funds', { code: 'insufficient_funds', message: admitted.rejected });
  }
  run.policy = admitted.policy;
  const { policy } = run;
  run.enter('admit');
  if (run.cancellation) return cancelled(run);

  const at = () => new Date().toISOString();
  const { screened } = admitted;
  st.withholding = screened.compliance.withholding;
  if (screened.compliance.blocked.length > 0) {
    st.reasons.push(...screened.compliance.blocked);
    await run.move('hold_for_compliance', { purpose: 'compliance_wait', ms: policy.complianceWaitMs });
    await condition(
      () => run.clearedBy !== undefined || run.cancellation !== undefined,
      policy.complianceWaitMs,
    );
    if (run.cancellation) return cancelled(run);
    if (!run.clearedBy) {
      return run.releaseAndFinish('compliance_timeout', {
        code: 'compliance_timeout',
        message: 'compliance block was not cleared in time; funds released',
      });
    }
  }

  // 3. Risk rules, 4. approval.
  const risk = screened.risk ?? (await run.steps.assessRisk({ payoutId }));
  st.reasons.push(...risk.reasons);
  if (policy.approvalReason) st.reasons.push(policy.approvalReason);
  st.approvalsRequired = decide.approvalsNeeded(policy, risk.reasons.length);
  if (st.approvalsRequired > 0) {
    const outcome = await awaitApproval(run);
    if (outcome === 'cancelled') return cancelled(run);
    if (outcome !== 'approved') return run.releaseAndFinish('reject', outcome);
  }

  // 5. Route: instant now, or a durable timer until the next payout window; wait out providers all down.
  const riskClear = risk.reasons.length === 0;
  const route = async () => {
    const next = await run.steps.planRoute({ payoutId, riskClear, at: at() });
    Object.assign(st, { rail: next.rail, fee: next.fee });
    return next;
  };
  let plan = screened.plan ?? (await route());
  Object.assign(st, { rail: plan.rail, fee: plan.fee });
  st.reasons.push({ code: `route_${plan.rail}`, message: plan.reason });
  const outage: Outage = {};
  if (plan.candidates.length === 0 && plan.providersDown) {
    const rerouted = await rerouteAfterOutage(run, route, outage);
    if (rerouted.stop === 'cancelled') return cancelled(run);
    plan = rerouted.plan ?? plan;
  }
  if (plan.candidates.length === 0) {
    return run.releaseAndFinish(
      'unroutable',
      plan.unroutable ?? { code: 'no_provider', message: NO_PROVIDER },
    );
  }
  if ((await awaitWindow(run, plan)) === 'cancelled') return cancelled(run);

  // 6. Provider attempts: fail over only once the previous attempt is known not to have paid. A round in
  // which every provider was down is tried again after the outage wait.
  for (;;) {
    const roundStart = st.attempts.length;
    for (const provider of plan.candidates) {
      const result = await attemptProvider(run, provider, plan);
      if (result === 'paid') return paid(run);
      if (typeof result === 'object') return run.releaseAndFinish('fail', result.stop);
    }
    if (!decide.roundAllDown(st.attempts.slice(roundStart))) break;
    const rerouted = await rerouteAfterOutage(run, route, outage);
    if (rerouted.stop === 'cancelled') return cancelled(run);
    if (!rerouted.plan || rerouted.stop) break;
    plan = rerouted.plan;
    st.reasons.push({ code: `route_${plan.rail}`, message: plan.reason });
    if ((await awaitWindow(run, plan)) === 'cancelled') return cancelled(run);
  }
  const tried = st.attempts.map((a) => `${a.provider}: ${a.outcome}`).join(', ');
  return run.releaseAndFinish('fail', {
    code: 'all_providers_failed',
    message: `no provider paid (${tried}); funds released`,
  });
}

const NO_PROVIDER = 'no provider supports this method, country, currency and amount';
type Outage = { deadline?: number; previousMs?: number };

const cancelled = (run: PayoutRun) =>
  run.releaseAndFinish('cancel', {
    code: 'cancelled',
    message: `cancelled by ${run.cancellation?.by}: ${run.cancellation?.reason}`,
  });

/** Settled and final. A return heard of before the run ends goes down the one return path. */
async function paid(run: PayoutRun): Promise<PayoutStateDoc> {
  const rec = run.st.attempts.at(-1)!;
  const ref = { payoutId: run.st.payoutId, provider: rec.provider, attemptNo: rec.attemptNo };
  const status = run.statusAfter('pay');
  run.deliver(await run.steps.settleAndRecord({ ...ref, status, event: decide.TRANSITIONS.pay.webhook! }));
  run.enter('pay');
  for (;;) {
    await run.drain();
    const event = run.providerEvents.get(rec.idempotencyKey);
    if (event?.type !== 'returned' || run.st.state !== 'paid') return run.snapshot();
    const reason = event.reason ?? 'returned by provider';
    const { idempotencyKey, provider } = rec;
    const returned = await run.steps
      .returnPayout({ payoutId: ref.payoutId, provider, idempotencyKey, reason })
      .catch((err: unknown) => {
        // The payout stays paid (a paid row never goes back to review); the provider's event retries it.
        if (failureType(err) !== PayoutFailure.dataError) throw err;
        log.error('recording a return failed for a data reason', {
          payoutId: ref.payoutId,
          error: failureMessage(err),
        });
        return { outcome: 'ignored' as const };
      });
    if (returned.outcome === 'ignored') return run.snapshot();
    run.st.reasons.push({ code: 'returned', message: reason });
    run.enter('return');
    run.deliver(returned);
  }
}

/** A scheduled rail waits (cancellable) for its payout window. */
async function awaitWindow(run: PayoutRun, plan: RoutePlan): Promise<'cancelled' | undefined> {
  if (plan.rail !== 'scheduled' || !plan.windowAt) return run.cancellation ? 'cancelled' : undefined;
  const ms = Math.max(0, Date.parse(plan.windowAt) - Date.now());
  await run.move('schedule', { purpose: 'payout_window', ms }, `window.${run.st.attempts.length}`);
  if (ms > 0) await condition(() => run.cancellation !== undefined, ms);
  return run.cancellation ? 'cancelled' : undefined;
}

/** Waits out the outage and routes again, until a plan has candidates, the deadline passes or a cancel. */
async function rerouteAfterOutage(
  run: PayoutRun,
  route: () => Promise<RoutePlan>,
  outage: Outage,
): Promise<{ plan?: RoutePlan; stop?: 'give_up' | 'cancelled' }> {
  const { policy, st } = run;
  for (;;) {
    outage.deadline ??= Date.now() + policy.providerOutageDeadlineMs;
    const firstMs = policy.providerOutageRetryMs;
    const wait = decide.outageWait({
      firstMs,
      previousMs: outage.previousMs,
      deadline: outage.deadline,
      now: Date.now(),
    });
    if (wait === 'give_up') return { stop: 'give_up' };
    outage.previousMs = wait.nextMs;
    if (st.reasons.at(-1)?.code !== 'providers_down') {
      st.reasons.push({
        code: 'providers_down',
        message: 'every provider that can carry this payout is down; waiting to route it again',
      });
    }
    const timer = { purpose: 'provider_outage_retry', ms: wait.waitMs };
    await run.move('wait_for_providers', timer, `outage.${st.attempts.length}`);
    await condition(() => run.cancellation !== undefined, wait.waitMs);
    if (run.cancellation) return { stop: 'cancelled' };
    const plan = await route();
    if (plan.candidates.length > 0) return { plan };
    if (!plan.providersDown) return { plan, stop: 'give_up' };
  }
}

async function awaitApproval(run: PayoutRun): Promise<'approved' | 'cancelled' | Reason> {
  const { policy, st } = run;
  const decided = () => decide.approvalOutcome(st, false) !== 'waiting' || run.cancellation !== undefined;
  await run.move('ask_approval', { purpose: 'approval_timeout', ms: policy.approvalTimeoutMs });
  if (!(await waitRecordingApprovals(run, decided, policy.approvalTimeoutMs))) {
    const escalation = { purpose: 'approval_escalation_timeout', ms: policy.escalationTimeoutMs };
    await run.move('escalate_approval', escalation);
    await waitRecordingApprovals(run, decided, policy.escalationTimeoutMs);
  }
  if (run.cancellation) return 'cancelled';
  return decide.approvalOutcome(st, true) as 'approved' | Reason;
}

/** Up to `ms` for `decided`, recording each approval that leaves the payout waiting (the row shows it). */
async function waitRecordingApprovals(run: PayoutRun, decided: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    const newApproval = () => run.st.approvals.length > run.recordedApprovals;
    if (left <= 0 || !(await condition(() => decided() || newApproval(), left))) return decided();
    if (decided()) return true;
    await run.move('approval_recorded');
  }
}
