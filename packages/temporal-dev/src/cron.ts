// `cronSchedule` on a workflow start, as the official server runs it (common/backoff/cron.go with
// robfig/cron's standard parser): the first workflow task waits for the first matching time; when a run
// completes, fails (with no retry left) or times out, the next run of the same workflow id starts with
// the wait until the next matching time after the run's scheduled time that is not already past.
// Cancel and terminate end the chain.
import { inheritedStart } from './commands.ts';
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import type { Obj, Run } from './model.ts';
import {
  type CompiledSpec,
  compileSpec,
  nextTime,
  parseCron,
  parseGoDuration,
  SpecError,
} from './schedule-spec.ts';

type CronSchedule = { every: number } | { spec: CompiledSpec };

const cache = new Map<string, CronSchedule>();

/**
 * robfig's standard cron: 5 fields (or a descriptor such as `@hourly`, or `@every <duration>`), an optional
 * `TZ=`/`CRON_TZ=` prefix, times in UTC by default. Unlike schedule calendars, a day of month and a day of
 * week both restricted match when either does.
 */
function compileCron(expr: string): CronSchedule {
  const hit = cache.get(expr);
  if (hit) return hit;
  let text = expr.trim();
  let tz = '';
  const tzm = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(text);
  if (tzm) [tz, text] = [tzm[1]!, tzm[2]!];
  let out: CronSchedule;
  if (text.startsWith('@every ')) {
    const every = parseGoDuration(text.slice(7).trim());
    if (every < 1000) throw new SpecError('@every needs at least 1s');
    out = { every };
  } else {
    const fields = text.startsWith('@') ? null : text.split(/\s+/);
    if (fields && fields.length !== 5) throw new SpecError('expected exactly 5 fields');
    const parsed = parseCron(text);
    const cal = parsed.calendar!;
    const star = (f: string | undefined) => f === undefined || f === '*' || f === '?' || f === '*/1';
    const calendars = [cal];
    // Both restricted: either matches (two calendars whose union is the OR).
    if (fields && !star(fields[2]) && !star(fields[4])) {
      calendars.splice(
        0,
        1,
        { ...cal, dayOfWeek: [{ start: 0, end: 6 }] },
        { ...cal, dayOfMonth: [{ start: 1, end: 31 }] },
      );
    }
    out = { spec: compileSpec({ structuredCalendar: calendars, timezoneName: tz }) };
  }
  if (cache.size > 1000) cache.clear();
  cache.set(expr, out);
  return out;
}

/** INVALID_ARGUMENT for a cron string the server would refuse at start. */
export function validateCron(expr: string | undefined): void {
  if (!expr) return;
  try {
    const c = compileCron(expr);
    if ('spec' in c && !nextTime(c.spec, '', Date.now())) throw new SpecError('no time');
  } catch (err) {
    if (err instanceof SpecError && err.message === 'no time')
      throw invalidArgument('invalid CronSchedule, no time can be found to satisfy the schedule');
    throw invalidArgument('invalid CronSchedule.');
  }
}

function next(c: CronSchedule, after: number): number | null {
  if ('every' in c) return Math.floor(after / 1000) * 1000 + c.every;
  return nextTime(c.spec, '', after)?.nominal ?? null;
}

/**
 * Wait before the next run: to the first matching time after `scheduledTime` that is not before `now`,
 * rounded up to the second; null when there is none (or no cron).
 */
export function cronBackoffMs(expr: string | undefined, scheduledTime: number, now: number): number | null {
  if (!expr) return null;
  let c: CronSchedule;
  try {
    c = compileCron(expr);
  } catch {
    return null;
  }
  let at: number | null;
  if (now < scheduledTime) at = scheduledTime;
  else {
    at = next(c, scheduledTime);
    while (at !== null && at < now) at = next(c, at);
  }
  if (at === null) return null;
  return Math.ceil((at - now) / 1000) * 1000;
}

/** The start of the next run in a cron chain, from the closing run's started event attributes. */
export interface CronContinuation {
  backoffMs: number;
  lastCompletionResult?: Obj;
  continuedFailure?: Obj;
}

/**
 * Whether the run continues its cron chain on close, and with what: a completed run hands its result on;
 * a failed or timed-out one hands its failure on and the result of the last completed run (`previous`: what
 * the closing run was started with).
 */
export function cronContinuation(
  expr: string | undefined,
  executionTime: number,
  now: number,
  previous: { lastCompletionResult?: Obj },
  outcome: { result?: Obj; failure?: Obj },
): CronContinuation | null {
  const backoffMs = cronBackoffMs(expr, executionTime, now);
  if (backoffMs === null) return null;
  if (outcome.failure) {
    return {
      backoffMs,
      continuedFailure: outcome.failure,
      ...(previous.lastCompletionResult ? { lastCompletionResult: previous.lastCompletionResult } : {}),
    };
  }
  return { backoffMs, ...(outcome.result ? { lastCompletionResult: outcome.result } : {}) };
}

/**
 * On the close of a run with a cron schedule: starts the next run of the chain (same workflow id, initiator
 * CRON_SCHEDULE, its first task after the cron wait) and returns its run id; null when the chain ends.
 */
export function continueCron(
  engine: Engine,
  run: Run,
  outcome: { result?: Obj; failure?: Obj },
): string | null {
  if (!run.cronSchedule) return null;
  // Each run of the chain has its own execution timeout.
  const { executionExpiration: _own, ...base } = inheritedStart(run);
  const c = cronContinuation(run.cronSchedule, run.executionTime, engine.clock.now(), base, outcome);
  if (!c) return null;
  const next = engine.startRun({
    ...base,
    attempt: 1,
    backoffMs: c.backoffMs,
    continuedExecutionRunId: run.runId,
    initiator: 3, // CRON_SCHEDULE
    lastCompletionResult: c.lastCompletionResult,
    continuedFailure: c.continuedFailure,
  });
  return next.runId;
}
