// Activity tasks: dispatch, heartbeats, timeouts, server-side retries, completion and cancellation.
import { randomUUID } from 'node:crypto';
import type { ActTicket, Engine } from './engine.ts';
import { notFound } from './errors.ts';
import type { ActivityState, Obj, Run } from './model.ts';
import { dur, durMs, encodeToken, ts } from './model.ts';
import { EventType, ExecStatus, RetryState, TimeoutType } from './proto.ts';

export function normalizeRetryPolicy(p: Obj | undefined): Obj {
  const initial = durMs(p?.initialInterval) || 1000;
  return {
    initialInterval: dur(initial),
    backoffCoefficient: p?.backoffCoefficient && p.backoffCoefficient >= 1 ? p.backoffCoefficient : 2,
    maximumInterval: dur(durMs(p?.maximumInterval) || initial * 100),
    maximumAttempts: p?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: p?.nonRetryableErrorTypes ?? [],
  };
}

/** Decides whether a failed attempt retries; returns the delay or the final retry state. */
export function retryDecision(
  policy: Obj,
  attempt: number,
  failure: Obj | undefined,
  now: number,
  expiration: number,
): { delayMs: number } | { retryState: number } {
  const app = failure?.applicationFailureInfo;
  if (app?.nonRetryable) return { retryState: RetryState.NON_RETRYABLE_FAILURE };
  if (app?.type && (policy.nonRetryableErrorTypes ?? []).includes(app.type)) {
    return { retryState: RetryState.NON_RETRYABLE_FAILURE };
  }
  const max = policy.maximumAttempts ?? 0;
  if (max > 0 && attempt >= max) return { retryState: RetryState.MAXIMUM_ATTEMPTS_REACHED };
  let delayMs = durMs(app?.nextRetryDelay);
  if (!delayMs) {
    const initial = durMs(policy.initialInterval) || 1000;
    const maxInterval = durMs(policy.maximumInterval) || initial * 100;
    delayMs = Math.min(initial * (policy.backoffCoefficient ?? 2) ** (attempt - 1), maxInterval);
  }
  if (expiration > 0 && now + delayMs >= expiration) return { retryState: RetryState.TIMEOUT };
  return { delayMs };
}

/** Puts the attempt on its task queue (or, for eager execution, leaves it for the caller to claim). */
export function scheduleActivity(engine: Engine, run: Run, a: ActivityState, enqueue = true): void {
  a.state = 'scheduled';
  // The first attempt counts from its scheduled event, so its schedule-to-start and schedule-to-close
  // deadlines start together, as on the real server.
  a.scheduledTime = a.attempt === 1 && a.firstScheduledTime > 0 ? a.firstScheduledTime : engine.clock.now();
  markSkipped(a, 'scheduled');
  engine.clock.hold('activity');
  if (enqueue) {
    engine
      .actQueue(run.ns, a.taskQueue)
      .offer({ run, scheduledEventId: a.scheduledEventId, attempt: a.attempt });
  }
  armActivityTimer(engine, run, a);
}

/**
 * After a restart (persistence.ts): an attempt a worker had started stays started, so that worker's
 * heartbeats and completion are still accepted; its heartbeat timeout counts from the restart (the
 * worker could not reach the server while it was down). Other attempts are queued again.
 */
export function resumeActivity(engine: Engine, run: Run, a: ActivityState): void {
  if (a.state !== 'started' && a.paused) {
    a.state = 'backoff';
    armPausedTimer(engine, run, a);
    return;
  }
  if (a.state !== 'started') {
    scheduleActivity(engine, run, a);
    return;
  }
  engine.clock.hold('activity');
  a.lastHeartbeatTime = Math.max(a.lastHeartbeatTime, engine.clock.now());
  markSkipped(a, 'beat');
  armActivityTimer(engine, run, a);
}

function setNotInFlight(engine: Engine, a: ActivityState): void {
  if (a.state !== 'backoff') engine.clock.release('activity');
}

export function removeActivity(engine: Engine, run: Run, a: ActivityState): void {
  engine.clock.cancel(engine.actTimers.get(a));
  setNotInFlight(engine, a);
  a.state = 'backoff';
  run.activities.delete(a.scheduledEventId);
}

/** Records where a deadline starts counting in the time skipped past this activity (see model.ts). */
function markSkipped(a: ActivityState, ...from: ('scheduled' | 'started' | 'beat')[]): void {
  const now = a.skippedMs ?? 0;
  a.skippedAt ??= { scheduled: 0, started: 0, beat: 0 };
  for (const f of from) a.skippedAt[f] = now;
}

/** Skipped time since a deadline started counting: the deadline moves on by that much. */
function skippedSince(a: ActivityState, from?: 'scheduled' | 'started' | 'beat'): number {
  return (a.skippedMs ?? 0) - (from ? (a.skippedAt?.[from] ?? 0) : 0);
}

/** Schedule-to-close, which runs across attempts, as moved by skipped time. */
function scheduleToCloseDeadline(a: ActivityState): number {
  return a.scheduleToCloseMs > 0 ? a.firstScheduledTime + a.scheduleToCloseMs + skippedSince(a) : 0;
}

/** The nearest deadline among the timeouts that apply in the activity's current state. */
function armActivityTimer(engine: Engine, run: Run, a: ActivityState): void {
  engine.clock.cancel(engine.actTimers.get(a));
  let at = Number.POSITIVE_INFINITY;
  let type = 0;
  const consider = (t: number, tt: number): void => {
    // Equal deadlines: the lower timeout type first, as the real server orders its activity timers.
    if (t < at || (t === at && tt < type)) {
      at = t;
      type = tt;
    }
  };
  if (a.scheduleToCloseMs > 0) consider(scheduleToCloseDeadline(a), TimeoutType.SCHEDULE_TO_CLOSE);
  if (a.state === 'scheduled' && a.scheduleToStartMs > 0) {
    const at = a.scheduledTime + a.scheduleToStartMs + skippedSince(a, 'scheduled');
    consider(at, TimeoutType.SCHEDULE_TO_START);
  }
  if (a.state === 'started') {
    if (a.startToCloseMs > 0) {
      consider(a.startedTime + a.startToCloseMs + skippedSince(a, 'started'), TimeoutType.START_TO_CLOSE);
    }
    if (a.heartbeatMs > 0) {
      consider(a.lastHeartbeatTime + a.heartbeatMs + skippedSince(a, 'beat'), TimeoutType.HEARTBEAT);
    }
  }
  if (at === Number.POSITIVE_INFINITY) return;
  const attempt = a.attempt;
  const state = a.state;
  engine.actTimers.set(
    a,
    engine.clock.schedule(
      at,
      () => {
        if (run.activities.get(a.scheduledEventId) !== a || a.attempt !== attempt || a.state !== state)
          return;
        activityTimedOut(engine, run, a, type);
      },
      (ms) => {
        a.skippedMs = (a.skippedMs ?? 0) + ms;
      },
    ),
  );
}

const timeoutNames: Record<number, string> = {
  [TimeoutType.START_TO_CLOSE]: 'StartToClose',
  [TimeoutType.SCHEDULE_TO_START]: 'ScheduleToStart',
  [TimeoutType.SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
  [TimeoutType.HEARTBEAT]: 'Heartbeat',
};

function activityTimedOut(engine: Engine, run: Run, a: ActivityState, timeoutType: number): void {
  const failure: Obj = {
    message: `activity ${timeoutNames[timeoutType]} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: a.heartbeatDetails },
    cause: timeoutType === TimeoutType.SCHEDULE_TO_CLOSE ? a.lastFailure : undefined,
  };
  if (timeoutType === TimeoutType.START_TO_CLOSE || timeoutType === TimeoutType.HEARTBEAT) {
    if (tryRetry(engine, run, a, failure)) return;
  }
  finishActivity(engine, run, a, EventType.ACTIVITY_TASK_TIMED_OUT, {
    failure,
    retryState:
      timeoutType === TimeoutType.SCHEDULE_TO_CLOSE ? RetryState.TIMEOUT : RetryState.NON_RETRYABLE_FAILURE,
  });
}

/** Schedules the next attempt if the retry policy allows; returns false when the failure is final. */
function tryRetry(
  engine: Engine,
  run: Run,
  a: ActivityState,
  failure: Obj,
  finalState?: { retryState: number },
): boolean {
  const now = engine.clock.now();
  const expiration = scheduleToCloseDeadline(a);
  const d = retryDecision(a.retryPolicy, a.attempt, failure, now, expiration);
  if ('retryState' in d) {
    if (finalState) finalState.retryState = d.retryState;
    return false;
  }
  engine.clock.cancel(engine.actTimers.get(a));
  setNotInFlight(engine, a);
  a.state = 'backoff';
  a.lastFailure = failure;
  a.cancelRequested = a.cancelRequested && false;
  if (a.reset) {
    // ResetActivity while this attempt ran: start over at attempt 1, without a backoff.
    if (a.reset.heartbeat) a.heartbeatDetails = undefined;
    a.reset = undefined;
    a.attempt = 1;
    retryAfter(engine, run, a, 0);
  } else {
    a.attempt++;
    retryAfter(engine, run, a, d.delayMs);
  }
  engine.touch(run);
  return true;
}

/** Dispatches the (backed-off) attempt after `ms`, unless it is paused by then. */
function retryAfter(engine: Engine, run: Run, a: ActivityState, ms: number): void {
  const attempt = a.attempt;
  engine.clock.cancel(engine.actTimers.get(a));
  engine.actTimers.set(
    a,
    engine.clock.after(ms, () => {
      if (run.activities.get(a.scheduledEventId) !== a || a.attempt !== attempt || a.state !== 'backoff')
        return;
      if (a.paused) armPausedTimer(engine, run, a);
      else scheduleActivity(engine, run, a);
    }),
  );
}

/** A paused activity not running: only its schedule-to-close deadline still applies. */
function armPausedTimer(engine: Engine, run: Run, a: ActivityState): void {
  engine.clock.cancel(engine.actTimers.get(a));
  engine.actTimers.delete(a);
  if (a.scheduleToCloseMs <= 0) return;
  const attempt = a.attempt;
  engine.actTimers.set(
    a,
    engine.clock.schedule(scheduleToCloseDeadline(a), () => {
      if (run.activities.get(a.scheduledEventId) !== a || a.attempt !== attempt || a.state !== 'backoff')
        return;
      activityTimedOut(engine, run, a, TimeoutType.SCHEDULE_TO_CLOSE);
    }),
  );
}

/** Takes an attempt that is queued but not started off its queue (its ticket goes stale). */
function withdraw(engine: Engine, a: ActivityState): void {
  engine.clock.cancel(engine.actTimers.get(a));
  setNotInFlight(engine, a);
  a.state = 'backoff';
}

/** PauseActivity, as the server's: a queued attempt is withdrawn; a running one goes on, told at its heartbeat. */
export function pauseActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  identity: string,
  reason: string,
): void {
  if (a.paused) return;
  a.paused = { time: engine.clock.now(), identity, reason };
  if (a.state === 'scheduled') withdraw(engine, a);
  if (a.state === 'backoff') armPausedTimer(engine, run, a);
  engine.touch(run);
}

/** UnpauseActivity: an attempt not running is dispatched now (or within `jitterMs`). */
export function unpauseActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  opts: { resetAttempts: boolean; resetHeartbeat: boolean; jitterMs: number },
): void {
  if (!a.paused) return;
  a.paused = undefined;
  if (opts.resetHeartbeat) a.heartbeatDetails = undefined;
  if (a.state !== 'started') {
    if (opts.resetAttempts) a.attempt = 1;
    retryAfter(engine, run, a, jitter(opts.jitterMs));
  } else if (opts.resetAttempts) {
    a.reset = { heartbeat: opts.resetHeartbeat };
  }
  engine.touch(run);
}

/**
 * ResetActivity: back to attempt 1. A running attempt goes on (told at its heartbeat; if it fails, attempt
 * 1 follows at once); otherwise the activity is dispatched now (or within `jitterMs`), unpaused unless
 * `keepPaused`.
 */
export function resetActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  opts: { resetHeartbeat: boolean; keepPaused: boolean; jitterMs: number },
): void {
  if (a.state === 'started') {
    a.reset = { heartbeat: opts.resetHeartbeat };
  } else {
    if (a.state === 'scheduled') withdraw(engine, a);
    a.attempt = 1;
    if (opts.resetHeartbeat) a.heartbeatDetails = undefined;
    if (a.paused && opts.keepPaused) armPausedTimer(engine, run, a);
    else {
      a.paused = undefined;
      retryAfter(engine, run, a, jitter(opts.jitterMs));
    }
  }
  engine.touch(run);
}

/** The options an attempt runs with, as temporal.api.activity.v1.ActivityOptions. */
export function activityOptionsOf(a: ActivityState): Obj {
  return {
    taskQueue: { name: a.taskQueue, kind: 1 },
    scheduleToCloseTimeout: a.scheduleToCloseMs ? dur(a.scheduleToCloseMs) : undefined,
    scheduleToStartTimeout: a.scheduleToStartMs ? dur(a.scheduleToStartMs) : undefined,
    startToCloseTimeout: a.startToCloseMs ? dur(a.startToCloseMs) : undefined,
    heartbeatTimeout: a.heartbeatMs ? dur(a.heartbeatMs) : undefined,
    retryPolicy: a.retryPolicy,
  };
}

/**
 * New options took effect (UpdateActivityOptions): a queued attempt is queued again (on its new task
 * queue, with its new deadlines); a running one keeps running under the new deadlines; one backing off
 * uses them on its next attempt.
 */
export function optionsChanged(engine: Engine, run: Run, a: ActivityState): void {
  if (a.state === 'scheduled') {
    withdraw(engine, a);
    if (a.paused) armPausedTimer(engine, run, a);
    else scheduleActivity(engine, run, a);
  } else if (a.state === 'started') {
    armActivityTimer(engine, run, a);
  } else if (a.paused) {
    armPausedTimer(engine, run, a);
  }
  engine.touch(run);
}

function jitter(ms: number): number {
  return ms > 0 ? Math.floor(Math.random() * ms) : 0;
}

/** Records the final outcome: started event (if it ran) followed by the closing event. */
function finishActivity(engine: Engine, run: Run, a: ActivityState, type: number, attrs: Obj): void {
  const ran = a.state === 'started';
  removeActivity(engine, run, a);
  if (ran) {
    engine.addExternal(run, EventType.ACTIVITY_TASK_STARTED, {
      scheduledEventId: a.scheduledEventId,
      identity: a.startedIdentity,
      requestId: randomUUID(),
      attempt: a.attempt,
      lastFailure: a.lastFailure,
    });
  }
  engine.addExternal(run, type, {
    ...attrs,
    scheduledEventId: a.scheduledEventId,
    startedEventId: ran ? -1 : 0,
  });
  engine.touch(run);
}

export function claimActivity(engine: Engine, t: ActTicket, identity: string): Obj | null {
  const run = t.run;
  const a = run.activities.get(t.scheduledEventId);
  if (!a || a.attempt !== t.attempt || a.state !== 'scheduled' || run.status !== ExecStatus.RUNNING)
    return null;
  const now = engine.clock.now();
  a.state = 'started';
  a.startedTime = now;
  a.lastHeartbeatTime = now;
  a.startedIdentity = identity;
  markSkipped(a, 'started', 'beat');
  armActivityTimer(engine, run, a);
  engine.touch(run);
  return {
    taskToken: encodeToken({
      ns: run.ns,
      runId: run.runId,
      kind: 'act',
      id: a.scheduledEventId,
      attempt: a.attempt,
    }),
    workflowNamespace: run.ns,
    workflowType: { name: run.workflowType },
    workflowExecution: { workflowId: run.workflowId, runId: run.runId },
    activityType: { name: a.activityType },
    activityId: a.activityId,
    header: a.header,
    input: a.input,
    heartbeatDetails: a.heartbeatDetails,
    scheduledTime: ts(a.firstScheduledTime),
    currentAttemptScheduledTime: ts(a.scheduledTime),
    startedTime: ts(now),
    attempt: a.attempt,
    scheduleToCloseTimeout: dur(a.scheduleToCloseMs),
    startToCloseTimeout: a.startToCloseMs > 0 ? dur(a.startToCloseMs) : undefined,
    heartbeatTimeout: a.heartbeatMs > 0 ? dur(a.heartbeatMs) : undefined,
    retryPolicy: a.retryPolicy,
  };
}

/** Finds the started activity a worker reports on, by token or by workflow id + activity id. */
export function activityFor(
  engine: Engine,
  token: { runId: string; id: number; attempt: number } | null,
  byId?: { ns: string; workflowId: string; runId?: string; activityId: string },
): { run: Run; a: ActivityState } {
  let run: Run | undefined;
  let a: ActivityState | undefined;
  if (token) {
    run = engine.runs.get(token.runId);
    a = run?.activities.get(token.id);
    if (a && a.attempt !== token.attempt) a = undefined;
  } else if (byId) {
    run = engine.findRun(byId.ns, { workflowId: byId.workflowId, runId: byId.runId });
    for (const x of run.activities.values()) if (x.activityId === byId.activityId) a = x;
  }
  if (!run || !a || run.status !== ExecStatus.RUNNING || a.state !== 'started') {
    throw notFound('activity task not found (it may have timed out, been cancelled, or its workflow closed)');
  }
  return { run, a };
}

export function completeActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  result: Obj | undefined,
  identity: string,
): void {
  finishActivity(engine, run, a, EventType.ACTIVITY_TASK_COMPLETED, { result, identity });
}

export function failActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  failure: Obj | undefined,
  identity: string,
  lastHeartbeatDetails?: Obj,
): void {
  if (lastHeartbeatDetails) a.heartbeatDetails = lastHeartbeatDetails;
  const f = failure ?? { message: 'activity failed' };
  const final = { retryState: RetryState.NON_RETRYABLE_FAILURE };
  if (!a.cancelRequested && tryRetry(engine, run, a, f, final)) return;
  finishActivity(engine, run, a, EventType.ACTIVITY_TASK_FAILED, {
    failure: f,
    identity,
    retryState: final.retryState,
  });
}

export function cancelActivityReported(
  engine: Engine,
  run: Run,
  a: ActivityState,
  details: Obj | undefined,
  identity: string,
): void {
  finishActivity(engine, run, a, EventType.ACTIVITY_TASK_CANCELED, {
    details,
    identity,
    latestCancelRequestedEventId: a.cancelRequestedEventId,
  });
}

/** Records a heartbeat; answers whether the attempt is asked to stop (cancel, pause, reset). */
export function heartbeat(engine: Engine, run: Run, a: ActivityState, details: Obj | undefined): Obj {
  if (details) a.heartbeatDetails = details;
  a.lastHeartbeatTime = engine.clock.now();
  markSkipped(a, 'beat');
  armActivityTimer(engine, run, a);
  engine.changed(run);
  return { cancelRequested: a.cancelRequested, activityPaused: !!a.paused, activityReset: !!a.reset };
}

/** RequestCancelActivityTask command: cancel at once if not running, else tell the heartbeating worker. */
export function requestCancelActivity(
  engine: Engine,
  run: Run,
  a: ActivityState,
  cancelRequestedEventId: number,
): void {
  a.cancelRequestedEventId = cancelRequestedEventId;
  if (a.state === 'started') {
    a.cancelRequested = true;
    return;
  }
  removeActivity(engine, run, a);
  engine.addExternal(run, EventType.ACTIVITY_TASK_CANCELED, {
    scheduledEventId: a.scheduledEventId,
    startedEventId: 0,
    latestCancelRequestedEventId: cancelRequestedEventId,
  });
}
