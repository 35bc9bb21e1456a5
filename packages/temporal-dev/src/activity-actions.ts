// PauseActivity, UnpauseActivity and ResetActivity (Temporal UI's activity actions), as the real server's
// (service/history/workflow/activity.go): they pick the run's pending activities by id, by type, or all,
// and change them in place; no history event is written.
import { pauseActivity, resetActivity, unpauseActivity } from './activities.ts';
import type { Engine } from './engine.ts';
import { invalidArgument, notFound } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import type { ActivityState, Obj, Run } from './model.ts';
import { durMs } from './model.ts';

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
      // restoreOriginalOptions has nothing to restore: options never change here (no UpdateActivityOptions).
      const { run, picked } = pick(engine, req, 'matchAll');
      const opts = {
        resetHeartbeat: Boolean(req.resetHeartbeat),
        keepPaused: Boolean(req.keepPaused),
        jitterMs: durMs(req.jitter),
      };
      for (const a of picked) resetActivity(engine, run, a, opts);
      return {};
    },
  };
}
