// Started by the `period-close` schedule once a period and its grace window are over: closes that period
// (its workflow `period-<id>` is started unless a manual close did it first).
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
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
  return acts.closeDuePeriod({ ...input, scheduledAt: scheduledAt() });
}
