// Workflows started by schedules and cron in the tests: they report what the server gave them.
import {
  ApplicationFailure,
  condition,
  defineSignal,
  ParentClosePolicy,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';

export const finish = defineSignal('finish');

export interface Seen {
  workflowId: string;
  scheduledBy?: string;
  scheduledStart?: string;
  lastResult?: unknown;
  lastFailure?: string;
  attempt: number;
}

/** Returns what it was started with: TemporalScheduledById / StartTime, the previous run's result. */
export async function reportsStart(): Promise<Seen> {
  const info = workflowInfo();
  const sa = info.searchAttributes ?? {};
  const by = sa.TemporalScheduledById?.[0];
  const at = sa.TemporalScheduledStartTime?.[0];
  return {
    workflowId: info.workflowId,
    ...(by !== undefined ? { scheduledBy: String(by) } : {}),
    ...(at !== undefined ? { scheduledStart: new Date(at as string).toISOString() } : {}),
    ...(info.lastResult !== undefined ? { lastResult: info.lastResult } : {}),
    ...(info.lastFailure ? { lastFailure: info.lastFailure.message } : {}),
    attempt: info.attempt,
  };
}

/** Runs until signalled (to hold a schedule's overlap). */
export async function waitsForFinish(): Promise<string> {
  let done = false;
  setHandler(finish, () => {
    done = true;
  });
  await condition(() => done);
  return workflowInfo().workflowId;
}

/** A cron run: counts up from the previous run's result. */
export async function cronCounter(): Promise<number> {
  const prev = (workflowInfo().lastResult as number | undefined) ?? 0;
  return prev + 1;
}

/** A cron run that fails every other time (odd runs), to see the failure handed on. */
export async function cronFlaky(): Promise<number> {
  const prev = (workflowInfo().lastResult as number | undefined) ?? 0;
  if (workflowInfo().lastFailure === undefined && prev % 2 === 1)
    throw ApplicationFailure.create({ message: `flaky after ${prev}` });
  return prev + 1;
}

/** Sleeps longer than its run timeout. */
export async function sleepsHours(): Promise<void> {
  await sleep('3h');
}

/** Starts `cronCounter` as a cron child that outlives it, and returns the child's workflow id. */
export async function startsCronChild(cronSchedule: string): Promise<string> {
  const child = await startChild(cronCounter, {
    workflowId: `${workflowInfo().workflowId}-child`,
    cronSchedule,
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  return child.workflowId;
}
