// PauseActivity, UnpauseActivity, ResetActivity and UpdateActivityOptions (Temporal UI's activity
// actions), as the real server's (service/history/workflow/activity.go): they pick the run's pending
// activities by id, by type, or all, and change them in place; no history event is written.
import {
  activityOptionsOf,
  normalizeRetryPolicy,
  optionsChanged,
  pauseActivity,
  resetActivity,
  unpauseActivity,
} from './activities.ts';
import type { Engine } from './engine.ts';
import { invalidArgument, notFound } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import { attrsOf, eventAt } from './history.ts';
import type { ActivityState, Obj, Run } from './model.ts';
import { durMs } from './model.ts';

/** Field-mask paths of ActivityOptions, snake_case as the server reads them (camelCase accepted). */
const OPTION_PATHS = [
  'task_queue.name',
  'schedule_to_close_timeout',
  'schedule_to_start_timeout',
  'start_to_close_timeout',
  'heartbeat_timeout',
  'retry_policy.initial_interval',
  'retry_policy.backoff_coefficient',
  'retry_policy.maximum_interval',
  'retry_policy.maximum_attempts',
  'retry_policy.non_retryable_error_types',
] as const;

const snake = (path: string): string => path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Applies the masked fields of `o` (ActivityOptions) to `a`; a path naming a whole message takes all of it. */
function applyOptions(a: ActivityState, o: Obj, paths: string[]): void {
  const has = (p: string) => paths.some((m) => m === p || p.startsWith(`${m}.`));
  for (const p of paths) {
    if (!OPTION_PATHS.some((k) => k === p || k.startsWith(`${p}.`)) && p !== 'priority') {
      throw invalidArgument(`invalid field mask path: ${p}`);
    }
  }
  if (has('task_queue.name')) {
    if (!o.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    a.taskQueue = o.taskQueue.name;
  }
  if (has('schedule_to_close_timeout')) a.scheduleToCloseMs = durMs(o.scheduleToCloseTimeout);
  if (has('schedule_to_start_timeout')) a.scheduleToStartMs = durMs(o.scheduleToStartTimeout);
  if (has('start_to_close_timeout')) a.startToCloseMs = durMs(o.startToCloseTimeout);
  if (has('heartbeat_timeout')) a.heartbeatMs = durMs(o.heartbeatTimeout);
  const r = o.retryPolicy ?? {};
  const policy = { ...a.retryPolicy };
  if (has('retry_policy.initial_interval')) policy.initialInterval = r.initialInterval;
  if (has('retry_policy.backoff_coefficient')) policy.backoffCoefficient = r.backoffCoefficient;
  if (has('retry_policy.maximum_interval')) policy.maximumInterval = r.maximumInterval;
  if (has('retry_policy.maximum_attempts')) policy.maximumAttempts = r.maximumAttempts ?? 0;
  if (has('retry_policy.non_retryable_error_types'))
    policy.nonRetryableErrorTypes = r.nonRetryableErrorTypes ?? [];
  a.retryPolicy = normalizeRetryPolicy(policy);
  if (!a.startToCloseMs && !a.scheduleToCloseMs) {
    throw invalidArgument('A valid StartToClose or ScheduleToCloseTimeout is not set on ActivityOptions.');
  }
}

/** The options the activity was scheduled with (its ActivityTaskScheduled event). */
function restoreOriginal(run: Run, a: ActivityState): void {
  const ev = eventAt(run, a.scheduledEventId);
  if (!ev) throw invalidArgument('ActivityTaskScheduledEvent not found');
  const s = attrsOf(ev);
  a.taskQueue = s.taskQueue?.name ?? a.taskQueue;
  a.scheduleToCloseMs = durMs(s.scheduleToCloseTimeout);
  a.scheduleToStartMs = durMs(s.scheduleToStartTimeout);
  a.startToCloseMs = durMs(s.startToCloseTimeout);
  a.heartbeatMs = durMs(s.heartbeatTimeout);
  a.retryPolicy = normalizeRetryPolicy(s.retryPolicy);
}

/** The pending activities a request names (`id`, `type`, or `allField` set); NOT_FOUND when none. */
function pick(engine: Engine, req: Obj, allField?: string): { run: Run; picked: ActivityState[] } {
  const run = engine.findOpenRun(engine.namespace(req.namespace).name, req.execution);
  const all = allField ? Boolean(req[allField]) : false;
  if (!req.id && !req.type && !all)
    throw invalidArgument('either activity id or activity type must be provided');
  const picked = [...run.activities.values()].filter(
    (a) => all || (req.id ? a.activityId === req.id : a.activityType === req.type),
  );
  if (picked.length === 0) {
    throw notFound(
      req.id
        ? `activity not found: activity id ${req.id}`
        : `no pending activities of type ${req.type ?? ''}`,
    );
  }
  return { run, picked };
}

export function activityActionHandlers(engine: Engine): Handlers {
  return {
    PauseActivity: (req) => {
      const { run, picked } = pick(engine, req);
      for (const a of picked) pauseActivity(engine, run, a, req.identity ?? '', req.reason ?? '');
      return {};
    },
    UnpauseActivity: (req) => {
      const { run, picked } = pick(engine, req, 'unpauseAll');
      const opts = {
        resetAttempts: Boolean(req.resetAttempts),
        resetHeartbeat: Boolean(req.resetHeartbeat),
        jitterMs: durMs(req.jitter),
      };
      for (const a of picked) unpauseActivity(engine, run, a, opts);
      return {};
    },
    ResetActivity: (req) => {
      const { run, picked } = pick(engine, req, 'matchAll');
      if (req.restoreOriginalOptions) {
        for (const a of picked) {
          restoreOriginal(run, a);
          optionsChanged(engine, run, a);
        }
      }
      const opts = {
        resetHeartbeat: Boolean(req.resetHeartbeat),
        keepPaused: Boolean(req.keepPaused),
        jitterMs: durMs(req.jitter),
      };
      for (const a of picked) resetActivity(engine, run, a, opts);
      return {};
    },
    UpdateActivityOptions: (req) => {
      const { run, picked } = pick(engine, req, 'matchAll');
      const paths = ((req.updateMask?.paths ?? []) as string[]).map(snake);
      if (!req.restoreOriginal && paths.length === 0) throw invalidArgument('UpdateMask is not provided.');
      for (const a of picked) {
        // All or nothing per activity: a rejected merge leaves it as it was.
        const before = { ...a, retryPolicy: { ...a.retryPolicy } };
        try {
          if (req.restoreOriginal) restoreOriginal(run, a);
          else applyOptions(a, req.activityOptions ?? {}, paths);
        } catch (err) {
          Object.assign(a, before);
          throw err;
        }
        optionsChanged(engine, run, a);
      }
      return { activityOptions: activityOptionsOf(picked[0]!) };
    },
  };
}
