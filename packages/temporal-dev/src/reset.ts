// ResetWorkflowExecution and DeleteWorkflowExecution, as the official server does them.
// Reset: a new run of the same workflow id whose history is the base run's up to a workflow task's
// started event, then that task failed with cause RESET_WORKFLOW (naming both runs), then the signals
// and updates the base run received after that point (unless the reset reapply type excludes them),
// then a new workflow task. The run's pending activities, timers and children are rebuilt from those
// events; the current run, if still running, is terminated.
import { randomUUID } from 'node:crypto';
import { normalizeRetryPolicy, scheduleActivity } from './activities.ts';
import { armWorkflowTimer, mergePayloads } from './commands.ts';
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import { append, attachLog, attrsOf, events, makeEvent } from './history.ts';
import type { ActivityState, ChildRef, Obj, Run, UpdateState } from './model.ts';
import { durMs, tsMs } from './model.ts';
import { decode, EventType, ExecStatus, encode, messageType } from './proto.ts';

const RESET_WORKFLOW_CAUSE = 20; // WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
const REAPPLY_SIGNAL_ONLY = 1;
const REAPPLY_NONE = 2;
const EXCLUDE_SIGNAL = 1;
const EXCLUDE_UPDATE = 2;
const IDENTITY = 'history-service';
const HistoryEvent = messageType('temporal.api.history.v1.HistoryEvent');

/** Which event kinds are reapplied: the deprecated reapply type narrows, exclude types remove. */
export function reapplied(
  reapplyType: number,
  excludeTypes: number[],
): { signals: boolean; updates: boolean } {
  const exclude = new Set(excludeTypes);
  if (reapplyType === REAPPLY_SIGNAL_ONLY) exclude.add(EXCLUDE_UPDATE);
  if (reapplyType === REAPPLY_NONE) {
    exclude.add(EXCLUDE_SIGNAL);
    exclude.add(EXCLUDE_UPDATE);
  }
  return { signals: !exclude.has(EXCLUDE_SIGNAL), updates: !exclude.has(EXCLUDE_UPDATE) };
}

interface Rebuilt {
  activities: Map<number, Obj>; // scheduled event id -> ActivityTaskScheduled attributes
  timers: Map<string, { startedEventId: number; at: number }>;
  children: Map<number, ChildRef>;
  updates: Map<string, UpdateState>;
  memo: Obj;
  searchAttributes: Obj;
  cancelRequested: boolean;
  previousStartedEventId: number;
}

const ACTIVITY_CLOSED = new Set([
  EventType.ACTIVITY_TASK_COMPLETED,
  EventType.ACTIVITY_TASK_FAILED,
  EventType.ACTIVITY_TASK_TIMED_OUT,
  EventType.ACTIVITY_TASK_CANCELED,
]);
const CHILD_CLOSED = new Set([
  EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
  EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.CHILD_WORKFLOW_EXECUTION_CANCELED,
  EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
]);

/** The mutable state a run has after `prefix` (its events from the first on). */
export function rebuildState(prefix: Obj[]): Rebuilt {
  const started = attrsOf(prefix[0]!);
  const s: Rebuilt = {
    activities: new Map(),
    timers: new Map(),
    children: new Map(),
    updates: new Map(),
    memo: { ...(started.memo?.fields ?? {}) },
    searchAttributes: { ...(started.searchAttributes?.indexedFields ?? {}) },
    cancelRequested: false,
    previousStartedEventId: 0,
  };
  let lastStarted = 0;
  for (const ev of prefix) {
    const a = attrsOf(ev);
    const t = ev.eventType;
    if (t === EventType.ACTIVITY_TASK_SCHEDULED) s.activities.set(ev.eventId, a);
    else if (ACTIVITY_CLOSED.has(t)) s.activities.delete(a.scheduledEventId);
    else if (t === EventType.TIMER_STARTED) {
      s.timers.set(a.timerId, {
        startedEventId: ev.eventId,
        at: tsMs(ev.eventTime) + durMs(a.startToFireTimeout),
      });
    } else if (t === EventType.TIMER_FIRED || t === EventType.TIMER_CANCELED) s.timers.delete(a.timerId);
    else if (t === EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
      s.children.set(ev.eventId, {
        initiatedEventId: ev.eventId,
        startedEventId: 0,
        namespace: a.namespace,
        workflowId: a.workflowId,
        runId: '',
        workflowType: a.workflowType?.name ?? '',
        parentClosePolicy: a.parentClosePolicy ?? 0,
      });
    } else if (t === EventType.CHILD_WORKFLOW_EXECUTION_STARTED) {
      const c = s.children.get(a.initiatedEventId);
      if (c) {
        c.startedEventId = ev.eventId;
        c.runId = a.workflowExecution?.runId ?? '';
      }
    } else if (CHILD_CLOSED.has(t) || t === EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED) {
      s.children.delete(a.initiatedEventId);
    } else if (t === EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      s.updates.set(a.protocolInstanceId, {
        updateId: a.protocolInstanceId,
        request: a.acceptedRequest ?? {},
        stage: 'accepted',
        acceptedEventId: ev.eventId,
        delivered: true,
      });
    } else if (t === EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED) {
      const u = s.updates.get(a.meta?.updateId);
      if (u) {
        u.stage = 'completed';
        u.outcome = a.outcome;
      }
    } else if (t === EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED) s.cancelRequested = true;
    else if (t === EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      mergePayloads(s.searchAttributes, a.searchAttributes?.indexedFields);
    } else if (t === EventType.WORKFLOW_PROPERTIES_MODIFIED) mergePayloads(s.memo, a.upsertedMemo?.fields);
    else if (t === EventType.WORKFLOW_TASK_STARTED) lastStarted = ev.eventId;
    else if (t === EventType.WORKFLOW_TASK_COMPLETED) s.previousStartedEventId = lastStarted;
  }
  return s;
}

export function resetWorkflow(engine: Engine, req: Obj): { runId: string } {
  const base = engine.findRun(req.namespace, req.workflowExecution);
  const finish = Number(req.workflowTaskFinishEventId ?? 0);
  if (finish <= 1 || finish > base.historyLength) {
    throw invalidArgument(
      `workflowTaskFinishEventId ${finish} is out of range: it must be > 1 and <= the run's last event id (${base.historyLength})`,
    );
  }
  const current = engine.current.get(engine.key(base.ns, base.workflowId))!;
  if (req.requestId && current.requestIds.includes(req.requestId)) return { runId: current.runId };
  // Copies: a busy base run holds some of its events in memory, and they must not be shared.
  const all = events(base).map((e) => decode(HistoryEvent, encode(HistoryEvent, e)));
  const prefix = all.slice(0, finish - 1);
  const point = prefix.at(-1)!;
  if (point.eventType !== EventType.WORKFLOW_TASK_STARTED) {
    throw invalidArgument(
      `event ${finish} does not finish a workflow task: reset to the id of a WorkflowTaskCompleted, WorkflowTaskFailed or WorkflowTaskTimedOut event (the event after a WorkflowTaskStarted)`,
    );
  }
  const which = reapplied(req.resetReapplyType ?? 0, req.resetReapplyExcludeTypes ?? []);
  const after = all.slice(finish - 1);
  const state = rebuildState(prefix);
  const now = engine.clock.now();
  const runId = randomUUID();
  const run: Run = {
    ...base,
    runId,
    status: ExecStatus.RUNNING,
    historyLength: 0,
    tail: [],
    savedEventId: 0,
    startTime: now,
    closeTime: 0,
    memo: state.memo,
    searchAttributes: state.searchAttributes,
    requestIds: req.requestId ? [req.requestId] : [],
    firstWftAt: 0,
    wft: null,
    wftRequested: false,
    buffered: [],
    previousStartedEventId: state.previousStartedEventId,
    sticky: null,
    activities: new Map(),
    timers: new Map(),
    children: state.children,
    updates: state.updates,
    cancelRequested: state.cancelRequested,
    nextRunId: '',
  };
  // Children still open follow the new run (their parent close policy and results go to it).
  for (const child of state.children.values()) {
    const c = child.runId ? engine.runs.get(child.runId) : undefined;
    if (c?.parent && c.status === ExecStatus.RUNNING) c.parent = { ...c.parent, runId };
    for (const r of [base, current]) r.children.delete(child.initiatedEventId);
  }
  if (current.status === ExecStatus.RUNNING) {
    engine.terminate(current, req.reason || 'reset', undefined, IDENTITY);
  }
  attachLog(run, engine.store);
  engine.addRun(run);
  engine.current.set(engine.key(run.ns, run.workflowId), run);
  for (const ev of prefix) append(run, ev);
  append(
    run,
    makeEvent(engine.clock, EventType.WORKFLOW_TASK_FAILED, {
      scheduledEventId: attrsOf(point).scheduledEventId,
      startedEventId: point.eventId,
      cause: RESET_WORKFLOW_CAUSE,
      failure: { message: req.reason || 'reset', resetWorkflowFailureInfo: {} },
      identity: req.identity || IDENTITY,
      baseRunId: base.runId,
      newRunId: runId,
    }),
  );
  for (const ev of after) {
    const a = attrsOf(ev);
    if (which.signals && ev.eventType === EventType.WORKFLOW_EXECUTION_SIGNALED) {
      append(run, makeEvent(engine.clock, EventType.WORKFLOW_EXECUTION_SIGNALED, a));
    } else if (which.updates && ev.eventType === EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      // Delivered again with the next workflow task, as an update admitted now.
      if (!run.updates.has(a.protocolInstanceId)) {
        run.updates.set(a.protocolInstanceId, {
          updateId: a.protocolInstanceId,
          request: a.acceptedRequest ?? {},
          stage: 'admitted',
          acceptedEventId: 0,
          delivered: false,
        });
      }
    }
  }
  for (const [timerId, t] of state.timers) {
    run.timers.set(timerId, t.startedEventId);
    armWorkflowTimer(engine, run, timerId, t.startedEventId, t.at);
  }
  for (const [scheduledEventId, a] of state.activities) {
    const activity = activityFromEvent(scheduledEventId, a, run, now);
    run.activities.set(scheduledEventId, activity);
    scheduleActivity(engine, run, activity);
  }
  engine.armRunTimeout(run);
  engine.scheduleWft(run, 1);
  engine.touch(run);
  return { runId };
}

function activityFromEvent(scheduledEventId: number, a: Obj, run: Run, now: number): ActivityState {
  const scheduleToCloseMs = durMs(a.scheduleToCloseTimeout);
  return {
    scheduledEventId,
    activityId: a.activityId,
    activityType: a.activityType?.name ?? '',
    taskQueue: a.taskQueue?.name || run.taskQueue,
    input: a.input,
    header: a.header,
    retryPolicy: normalizeRetryPolicy(a.retryPolicy),
    scheduleToCloseMs,
    scheduleToStartMs: durMs(a.scheduleToStartTimeout),
    startToCloseMs: durMs(a.startToCloseTimeout) || scheduleToCloseMs,
    heartbeatMs: durMs(a.heartbeatTimeout),
    firstScheduledTime: now,
    scheduledTime: now,
    attempt: 1,
    state: 'scheduled',
    startedTime: 0,
    startedIdentity: '',
    lastHeartbeatTime: 0,
    cancelRequested: false,
    cancelRequestedEventId: 0,
  };
}

/** DeleteWorkflowExecution: a running run is terminated first; then the run and its history are gone. */
export function deleteWorkflow(engine: Engine, req: Obj): Obj {
  const run = engine.findRun(req.namespace, req.workflowExecution);
  if (run.status === ExecStatus.RUNNING) {
    engine.terminate(run, 'Delete workflow execution', undefined, IDENTITY);
  }
  engine.forgetRun(run);
  return {};
}
