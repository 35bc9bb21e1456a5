// The scheduled period close (schedule `period-close`): each action starts `periodScheduledCloseWorkflow`,
// which closes the period that ended before the grace window. Shared by the workflow, its activity and
// src/periods/schedule.ts.
import type { PeriodCalendar } from '../src/periods/calendar.ts';
import type { PeriodInput } from './period-contract.ts';

export const PERIOD_CLOSE_SCHEDULE_ID = 'period-close';
/** The schedule's action's workflow id; each run gets `-<scheduled time>` appended by Temporal. */
export const PERIOD_CLOSE_WORKFLOW_ID = 'period-close';

export interface ScheduledCloseInput {
  calendar: PeriodCalendar;
  /** Late events are still booked in the period for this long after it ends. */
  graceMs: number;
  policy: PeriodInput['policy'];
}

export interface ScheduledCloseResult {
  periodId: string;
  /** `already_closing`: a close (manual, or an earlier scheduled one) had started the period's workflow. */
  outcome: 'started' | 'already_closing';
  scheduledAt: string;
}

export interface PeriodScheduleActivities {
  closeDuePeriod(input: ScheduledCloseInput & { scheduledAt: string }): Promise<ScheduledCloseResult>;
}
