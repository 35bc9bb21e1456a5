// The scheduled period close's activity: a thin wrapper over src/periods/schedule.ts, starting the period's
// workflow with the activity's own Temporal client on the worker's task queue. A failure no retry can fix
// (a calendar time zone the runtime does not know, a bad scheduled time) is a non-retryable DataError: the
// schedule buffers every later close behind this one, so retrying it forever would hold them all.
import { Context } from '@temporalio/activity';
import { PeriodGateway, type PeriodRows } from '../src/periods/gateway.ts';
import { closeDuePeriod } from '../src/periods/schedule.ts';
import type { PeriodScheduleActivities } from '../workflows/period-schedule-contract.ts';
import { classifyDataErrors } from './data-errors.ts';

export function createPeriodScheduleActivities(rows: PeriodRows): PeriodScheduleActivities {
  return classifyDataErrors({
    closeDuePeriod: (input) => {
      const ctx = Context.current();
      return closeDuePeriod(new PeriodGateway(ctx.client, ctx.info.taskQueue, input.policy), rows, input);
    },
  } satisfies PeriodScheduleActivities);
}
