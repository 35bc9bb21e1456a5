// A payout step that failed for a data reason (a value the database cannot store, a broken constraint):
// no retry can fix it, so the payout ends in review with the reason and a webhook, never wedged on a timer.
import { log } from '@temporalio/workflow';
import type { PayoutStateDoc } from '../src/payouts/state.ts';
import { PayoutFailure } from './payout-activities.ts';
import * as decide from './payout-decisions.ts';
import { failureMessage, failureStep, failureType, type PayoutRun } from './payout-steps.ts';
import { storable } from './text.ts';

/**
 * A step failed for a data reason and cannot succeed on retry: the payout ends in review, visibly, with no
 * timer. Funds are released unless an attempt may have paid (then they stay as the ledger has them).
 */
export async function reviewDataError(run: PayoutRun, err: unknown): Promise<PayoutStateDoc> {
  const { st } = run;
  const step = failureStep(err);
  log.error('payout step failed for a data reason; the payout goes to review', {
    payoutId: st.payoutId,
    step,
    error: failureMessage(err),
  });
  const review = decide.dataErrorReview(st, run.sent);
  st.attempts = review.attempts;
  let funds = 'funds kept as the ledger has them: an attempt may have paid';
  if (review.release) {
    funds = 'funds released';
    try {
      await run.steps.releaseFunds({ payoutId: st.payoutId, reason: 'data_error' });
    } catch (releaseErr) {
      if (failureType(releaseErr) !== PayoutFailure.dataError) throw releaseErr;
      funds = `funds not released (${failureMessage(releaseErr)})`;
    }
  }
  const why = `step ${step} failed for a data reason and cannot succeed on retry: ${failureMessage(err)}`;
  st.reasons.push({ code: 'data_error', message: `${why}; ${funds}` });
  const event = run.enter('data_error');
  run.reviewed = true;
  // Recorded with its text made storable; if even that fails, with free text left out.
  for (const status of [storable(run.snapshot()), decide.withoutFreeText(storable(run.snapshot()))]) {
    try {
      run.deliver(await run.steps.recordPayoutState({ status, event, eventKey: 'data_error' }));
      break;
    } catch (recordErr) {
      if (failureType(recordErr) !== PayoutFailure.dataError) throw recordErr;
    }
  }
  return run.drain();
}
