// Started by the `period-close` schedule once a period and its grace window are over: closes that period
// (its workflow `period-<id>` is started unless a manual close did it first).
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { PayoutFailure } from './payout-activities.ts';
import { failureMessage, failureType } from './payout-steps.ts';
import type {
  PeriodScheduleActivities,
  ScheduledCloseInput,
  ScheduledCloseResult,
} from './period-schedule-contract.ts';

const acts = proxyActivities<PeriodScheduleActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

/** The schedule's nominal time (TemporalScheduledStartTime): a late or backfilled run closes the right period. */
function scheduledAt(): string {
  const info = workflowInfo();
  const raw = info.searchAttributes?.TemporalScheduledStartTime?.[0];
  const at = raw === undefined ? new Date(info.startTime) : new Date(raw as string | Date);
  return at.toISOString();
}

export async function periodScheduledCloseWorkflow(
  input: ScheduledCloseInput,
): Promise<ScheduledCloseResult> {
  const at = scheduledAt();
  try {
    return await acts.closeDuePeriod({ ...input, scheduledAt: at });
  } catch (err) {
    // Fails this run only: the schedule starts the closes buffered behind it.
    if (failureType(err) !== PayoutFailure.dataError) throw err;
    throw ApplicationFailure.create({
      type: PayoutFailure.dataError,
      message:
        `the close scheduled at ${at} cannot succeed on retry: ${failureMessage(err)}; correct the period ` +
        'settings (PERIOD_CALENDAR, PERIOD_TIMEZONE, PERIOD_CLOSE_GRACE) and close the period with POST /v1/periods/{id}/close',
      nonRetryable: true,
    });
  }
}
