// Periods that close on their calendar: the Temporal Schedule `period-close` fires once per period, the
// grace window after the period ends (wall clock of the calendar's time zone), and starts
// `periodScheduledCloseWorkflow`, which closes the period that just ended. A manual close
// (`POST /v1/periods/:id/close`) still works: both start the period's one workflow `period-<id>`, so
// whichever comes first closes it and the other finds it closing. Operators pause the schedule (Temporal
// UI, or `pause()` here) to hold closes, e.g. during a data correction.
import {
  type Client,
  type DayOfWeek,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import type { PeriodInput } from '../../workflows/period-contract.ts';
import {
  PERIOD_CLOSE_SCHEDULE_ID,
  PERIOD_CLOSE_WORKFLOW_ID,
  type ScheduledCloseInput,
  type ScheduledCloseResult,
} from '../../workflows/period-schedule-contract.ts';
import type { Actor } from '../auth/actor.ts';
import { type PeriodCalendar, periodIdFor } from './calendar.ts';
import { graceProblem } from './close-grace.ts';
import { PeriodDecisionRefused, type PeriodGateway, type PeriodRows } from './gateway.ts';

const SECOND = 1000;
const DAY = 86_400_000;

/** Who closes a period on schedule (recorded as the period's closer; an approver can never be it). */
export const SCHEDULE_ACTOR: Actor = { actor: 'schedule:period-close', role: 'platform' };

const WEEKDAYS: DayOfWeek[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * The schedule's spec: each period's first local midnight plus the grace window, in the calendar's time
 * zone (ISO weeks start on Monday; semi-monthly periods on the 1st and the 16th).
 */
export function periodCloseSpec(calendar: PeriodCalendar, graceMs: number): ScheduleSpec {
  const problem = graceProblem(calendar.kind, graceMs);
  if (problem) throw new RangeError(`grace window ${graceMs} ms ${problem}`);
  const days = Math.floor(graceMs / DAY);
  const rest = (graceMs % DAY) / SECOND;
  const time = { hour: Math.floor(rest / 3600), minute: Math.floor((rest % 3600) / 60), second: rest % 60 };
  const calendars =
    calendar.kind === 'weekly'
      ? [{ ...time, dayOfWeek: WEEKDAYS[(1 + days) % 7]! }]
      : calendar.kind === 'semi_monthly'
        ? [{ ...time, dayOfMonth: [1 + days, 16 + days] }]
        : [{ ...time, dayOfMonth: 1 + days }];
  return { calendars, timezone: calendar.timezone };
}

/**
 * The period a close scheduled at `at` closes: the one that ended a grace window before. Half a day back
 * from the end of the grace window lands inside it whatever a daylight saving change did to the wall clock.
 */
export function closingPeriodAt(at: Date, calendar: PeriodCalendar, graceMs: number): string {
  return periodIdFor(new Date(at.getTime() - graceMs - DAY / 2), calendar);
}

/**
 * The scheduled close's activity: start the period's workflow unless a close is already under way, or the
 * period was closed before and its workflow has passed retention (also `already_closing`: nothing to do).
 */
export async function closeDuePeriod(
  gateway: PeriodGateway,
  rows: PeriodRows,
  input: ScheduledCloseInput & { scheduledAt: string },
): Promise<ScheduledCloseResult> {
  const periodId = closingPeriodAt(new Date(input.scheduledAt), input.calendar, input.graceMs);
  const started = await gateway.startClose(periodId, SCHEDULE_ACTOR, rows).catch((err: unknown) => {
    if (err instanceof PeriodDecisionRefused) return false;
    throw err;
  });
  return { periodId, outcome: started ? 'started' : 'already_closing', scheduledAt: input.scheduledAt };
}

export interface PeriodScheduleOptions {
  taskQueue: string;
  calendar: PeriodCalendar;
  graceMs: number;
  policy: PeriodInput['policy'];
}

/** What operators see: whether closes are held, the next ones, the last ones. */
export interface PeriodScheduleView {
  scheduleId: string;
  paused: boolean;
  note: string;
  calendar: PeriodCalendar;
  graceWindowMs: number;
  nextCloses: { periodId: string; at: string }[];
  recentCloses: { periodId: string; scheduledAt: string; takenAt: string; workflowId: string }[];
}

export class PeriodSchedule {
  readonly #client: Client;
  readonly #opts: PeriodScheduleOptions;

  constructor(client: Client, opts: PeriodScheduleOptions) {
    this.#client = client;
    this.#opts = opts;
  }

  #handle() {
    return this.#client.schedule.getHandle(PERIOD_CLOSE_SCHEDULE_ID);
  }

  #schedule() {
    const input: ScheduledCloseInput = {
      calendar: this.#opts.calendar,
      graceMs: this.#opts.graceMs,
      policy: this.#opts.policy,
    };
    return {
      spec: periodCloseSpec(this.#opts.calendar, this.#opts.graceMs),
      action: {
        type: 'startWorkflow' as const,
        workflowType: 'periodScheduledCloseWorkflow',
        workflowId: PERIOD_CLOSE_WORKFLOW_ID,
        taskQueue: this.#opts.taskQueue,
        args: [input],
      },
      // A worker that was down for a while closes every period it missed, one after the other.
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL, catchupWindow: '365d' },
    };
  }

  /**
   * Creates the schedule, or brings its calendar and action in line with the configuration. A pause (and
   * its note) set by an operator stays as it is.
   */
  async ensure(): Promise<'created' | 'updated'> {
    const schedule = this.#schedule();
    try {
      await this.#client.schedule.create({
        scheduleId: PERIOD_CLOSE_SCHEDULE_ID,
        ...schedule,
        state: { note: 'periods close on their calendar' },
      });
      return 'created';
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    await this.#handle().update((prev) => ({ ...schedule, state: prev.state }));
    return 'updated';
  }

  async describe(): Promise<PeriodScheduleView | undefined> {
    let d: ScheduleDescription;
    try {
      d = await this.#handle().describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
    const { calendar, graceMs } = this.#opts;
    return {
      scheduleId: PERIOD_CLOSE_SCHEDULE_ID,
      paused: d.state.paused,
      note: d.state.note ?? '',
      calendar,
      graceWindowMs: graceMs,
      nextCloses: d.info.nextActionTimes.map((at) => ({
        periodId: closingPeriodAt(at, calendar, graceMs),
        at: at.toISOString(),
      })),
      recentCloses: d.info.recentActions.map((a) => ({
        periodId: closingPeriodAt(a.scheduledAt, calendar, graceMs),
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
      })),
    };
  }

  /** Holds scheduled closes (manual closes still work) until `unpause`. */
  async pause(note: string, by: Actor): Promise<PeriodScheduleView | undefined> {
    await this.#handle().pause(`${note} (paused by ${by.actor})`);
    return this.describe();
  }

  /** Resumes scheduled closes; periods whose close fell due while paused are closed by hand. */
  async unpause(note: string, by: Actor): Promise<PeriodScheduleView | undefined> {
    await this.#handle().unpause(`${note} (unpaused by ${by.actor})`);
    return this.describe();
  }
}
