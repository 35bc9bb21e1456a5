// The scheduled period close's activity: a thin wrapper over src/periods/schedule.ts, starting the period's
// workflow with the activity's own Temporal client on the worker's task queue.
import { Context } from '@temporalio/activity';
import { PeriodGateway } from '../src/periods/gateway.ts';
import { closeDuePeriod } from '../src/periods/schedule.ts';
import type { PeriodScheduleActivities } from '../workflows/period-schedule-contract.ts';

export function createPeriodScheduleActivities(): PeriodScheduleActivities {
  return {
    closeDuePeriod: (input) => {
      const ctx = Context.current();
      return closeDuePeriod(new PeriodGateway(ctx.client, ctx.info.taskQueue, input.policy), input);
    },
  };
}
