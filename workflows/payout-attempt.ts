// One provider attempt of a payout: submit under the attempt's key, then wait for the provider's word
// (webhook, status polls), and when it stays unknown, status checks and then operator review. It answers
// only once the attempt is known to have paid or known not to have paid: failing over on a guess could pay
// twice.
import { condition, log, sleep } from '@temporalio/workflow';
import type { AttemptRecord, Reason } from '../src/payouts/state.ts';
import type { RoutePlan } from './payout-activities.ts';
import {
  backoff,
  classifySubmitFailure,
  FIRST_DATABASE_WAIT_MS,
  MAX_CONFIRMATION_POLL_MS,
  MAX_DATABASE_WAIT_MS,
  statusVerdict,
  stopVerdict,
} from './payout-decisions.ts';
import { failureMessage, failureType, type PayoutRun, statusChecks, submission } from './payout-steps.ts';

/** `stop`: the attempt showed that no provider may be tried (nothing was submitted); the payout fails. */
export type AttemptResult = 'paid' | 'not_paid' | { stop: Reason };

export async function attemptProvider(
  run: PayoutRun,
  provider: string,
  plan: RoutePlan,
): Promise<AttemptResult> {
  const { st } = run;
  const attemptNo = st.attempts.length + 1;
  if (run.verdict !== undefined) {
    // Given while the previous attempt was being decided by the provider itself: it was about that one.
    st.reasons.push({
      code: 'operator_resolution_ignored',
      message: `${run.verdict.by.actor}'s verdict (${run.verdict.outcome}) came after attempt ${attemptNo - 1} was decided; ignored`,
    });
    run.verdict = undefined;
  }
  const rec: AttemptRecord = {
    attemptNo,
    provider,
    idempotencyKey: `${st.payoutId}:${attemptNo}`,
    outcome: 'submitting',
  };
  st.attempts.push(rec);
  st.provider = provider;
  await run.move('submit');
  let submitted: Awaited<ReturnType<typeof submit>>;
  try {
    run.sent.add(attemptNo);
    submitted = await submit(run, rec, plan.rail);
  } catch (err) {
    const failure = classifySubmitFailure(failureType(err));
    if (failure === 'declined') return mark(rec, 'declined', failureMessage(err));
    if (failure === 'outage') return mark(rec, 'outage', failureMessage(err));
    if (failure === 'destination_changed') {
      mark(rec, 'not_paid', 'nothing submitted: the destination changed after screening');
      return { stop: { code: 'destination_changed', message: failureMessage(err) } };
    }
    rec.outcome = 'unknown';
    rec.detail = failureMessage(err);
    return resolveUnknown(run, rec);
  }
  if (submitted.state === 'paid') return mark(rec, 'paid');
  rec.outcome = 'pending';
  return awaitConfirmation(run, rec);
}

/** submitToProvider, again with the same key for as long as the app's own database is what stops it. */
async function submit(run: PayoutRun, rec: AttemptRecord, rail: RoutePlan['rail']) {
  let waitMs = FIRST_DATABASE_WAIT_MS;
  for (;;) {
    try {
      return await submission.submitToProvider({
        payoutId: run.st.payoutId,
        provider: rec.provider,
        attemptNo: rec.attemptNo,
        rail,
      });
    } catch (err) {
      if (classifySubmitFailure(failureType(err)) !== 'database') throw err;
      log.warn('database unavailable while submitting; submitting the same attempt again', {
        payoutId: run.st.payoutId,
        error: failureMessage(err),
      });
      await sleep(waitMs);
      waitMs = backoff(waitMs, MAX_DATABASE_WAIT_MS);
    }
  }
}

function mark(rec: AttemptRecord, outcome: AttemptRecord['outcome'], detail?: string): AttemptResult {
  rec.outcome = outcome;
  if (detail) rec.detail = detail;
  return outcome === 'paid' ? 'paid' : 'not_paid';
}

/** Pending at the provider: wait for its webhook, polling its status (backing off) up to the deadline. */
async function awaitConfirmation(run: PayoutRun, rec: AttemptRecord): Promise<AttemptResult> {
  const { policy } = run;
  await run.move('await_confirmation', {
    purpose: 'confirmation_deadline',
    ms: policy.confirmationDeadlineMs,
  });
  const deadline = Date.now() + policy.confirmationDeadlineMs;
  let poll = policy.confirmationPollMs;
  while (Date.now() < deadline) {
    const verdict = await observe(run, rec, Math.min(poll, deadline - Date.now()), false);
    if (verdict) return verdict;
    poll = backoff(poll, MAX_CONFIRMATION_POLL_MS);
  }
  rec.outcome = 'unknown';
  rec.detail = 'no confirmation before the deadline';
  return resolveUnknown(run, rec);
}

/** Unknown outcome: status checks until the deadline, then operator review with periodic re-checks. */
async function resolveUnknown(run: PayoutRun, rec: AttemptRecord): Promise<AttemptResult> {
  const { policy } = run;
  await run.move('outcome_unknown', {
    purpose: 'unknown_outcome_deadline',
    ms: policy.unknownOutcomeDeadlineMs,
  });
  const deadline = Date.now() + policy.unknownOutcomeDeadlineMs;
  let wait = policy.confirmationPollMs;
  while (Date.now() < deadline) {
    const verdict = await observe(run, rec, Math.min(wait, deadline - Date.now()), true);
    if (verdict) return verdict;
    wait = Math.min(wait * 2, policy.reviewRecheckMs);
  }
  await run.move('to_review', { purpose: 'review_recheck', ms: policy.reviewRecheckMs });
  for (;;) {
    const verdict = await observe(run, rec, policy.reviewRecheckMs, true);
    if (verdict) return verdict;
  }
}

/**
 * Waits up to `ms` for a provider event or an operator verdict, then asks the provider. A verdict once the
 * attempt is known to have paid or not; undefined while still unknown. `unknown`: the outcome is unknown,
 * so a key the provider never saw is voided before it counts as not paid.
 */
async function observe(run: PayoutRun, rec: AttemptRecord, ms: number, unknown: boolean) {
  const key = rec.idempotencyKey;
  if (ms > 0) await condition(() => run.providerEvents.has(key) || run.verdict !== undefined, ms);
  const event = run.providerEvents.get(key);
  if (event) return mark(rec, event.type === 'failed' ? 'failed' : 'paid', event.reason);
  if (run.verdict) return operatorVerdict(run, rec);
  try {
    const status = await statusChecks.checkProviderStatus({
      payoutId: run.st.payoutId,
      provider: rec.provider,
      attemptNo: rec.attemptNo,
      ...(unknown ? { voidIfUnknown: true } : {}),
    });
    const verdict = statusVerdict(status, unknown);
    if (verdict?.returned) noteReturned(run, rec, status.reason);
    if (verdict) return mark(rec, verdict.outcome, verdict.detail);
  } catch (err) {
    log.warn('provider status check failed; outcome still unknown', {
      payoutId: run.st.payoutId,
      error: failureMessage(err),
    });
  }
  return undefined;
}

/** An operator's verdict; a "not paid" first stops the attempt at its provider, or both could pay. */
async function operatorVerdict(run: PayoutRun, rec: AttemptRecord): Promise<AttemptResult | undefined> {
  const verdict = run.verdict!;
  run.verdict = undefined;
  run.st.reasons.push({
    code: 'operator_resolution',
    message: `${verdict.by.actor} resolved as ${verdict.outcome}${verdict.force ? ' (forced)' : ''}: ${verdict.reason}`,
  });
  if (verdict.outcome === 'not_paid') {
    const stopped = await stopAttempt(run, rec);
    if (stopped === 'paid') return mark(rec, 'paid', 'the provider reports it paid');
    // Force overrides only this: the provider could not be made to stop, the operator says it never pays.
    if (stopped === 'unstoppable' && !verdict.force) {
      run.st.reasons.push({
        code: 'operator_resolution_refused',
        message:
          `${rec.provider} still holds attempt ${rec.attemptNo} or could not be asked to cancel it; it may still ` +
          'pay. Ask the provider; resolve again, or with force once it has confirmed it will never pay',
      });
      run.refusedAttempt = rec.attemptNo;
      const refusals = run.st.reasons.filter((r) => r.code === 'operator_resolution_refused').length;
      await run.move('refuse_resolution', undefined, `${rec.attemptNo}.${refusals}`);
      return undefined;
    }
  }
  return mark(rec, verdict.outcome === 'paid' ? 'paid' : 'not_paid', verdict.reason);
}

/** A return the provider reported through its status, not a webhook: handed to the return path all the same. */
function noteReturned(run: PayoutRun, rec: AttemptRecord, reason?: string) {
  if (run.providerEvents.get(rec.idempotencyKey)?.type === 'returned') return;
  run.providerEvents.set(rec.idempotencyKey, {
    eventId: `status.returned.${rec.idempotencyKey}`,
    idempotencyKey: rec.idempotencyKey,
    type: 'returned',
    provider: rec.provider,
    ...(reason ? { reason } : {}),
  });
}

/** Cancels the attempt at its provider (voiding an unknown key): did it stop, turn out paid, or neither? */
async function stopAttempt(run: PayoutRun, rec: AttemptRecord): Promise<'stopped' | 'paid' | 'unstoppable'> {
  try {
    const status = await statusChecks.checkProviderStatus({
      payoutId: run.st.payoutId,
      provider: rec.provider,
      attemptNo: rec.attemptNo,
      cancelAttempt: true,
    });
    if (status.state === 'returned') noteReturned(run, rec, status.reason);
    return stopVerdict(status);
  } catch (err) {
    log.warn('cancelling a provider attempt failed; it may still pay', {
      payoutId: run.st.payoutId,
      error: failureMessage(err),
    });
    return 'unstoppable';
  }
}
