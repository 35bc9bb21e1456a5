// RespondWorkflowTaskCompleted: turns the worker's commands and protocol messages into history
// events and side effects (activities, timers, children, external signals, completion).
import {
  claimActivity,
  normalizeRetryPolicy,
  requestCancelActivity,
  retryDecision,
  scheduleActivity,
} from './activities.ts';
import { recordBuildId } from './build-ids.ts';
import { continueCron, cronBackoffMs } from './cron.ts';
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import { append, attrsOf, eventAt, flushBuffered, makeEvent } from './history.ts';
import type { Obj, Run } from './model.ts';
import { dur, durMs } from './model.ts';
import {
  CommandType,
  EventType,
  ExecStatus,
  ParentClosePolicy,
  RetryState,
  TaskQueueKind,
  unpackAny,
} from './proto.ts';
import { applyUpdateMessage } from './updates.ts';

const completionCommands = new Set([
  CommandType.COMPLETE_WORKFLOW_EXECUTION,
  CommandType.FAIL_WORKFLOW_EXECUTION,
  CommandType.CANCEL_WORKFLOW_EXECUTION,
  CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

/** Returns the response: activity tasks handed out eagerly to the completing worker. */
export function completeWorkflowTask(engine: Engine, run: Run, req: Obj): Obj {
  const w = run.wft!;
  const commands: Obj[] = req.commands ?? [];
  const identity: string = req.identity ?? '';
  const closes = commands.some((c) => completionCommands.has(c.commandType));
  // New events arrived while the worker was deciding to close: make it look again.
  const hasUnseenSignals = run.buffered.some(
    (e) =>
      e.eventType === EventType.WORKFLOW_EXECUTION_SIGNALED ||
      e.eventType === EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
  );
  const hasUnseenUpdates = [...run.updates.values()].some((u) => u.stage === 'admitted' && !u.delivered);
  if (closes && (hasUnseenSignals || hasUnseenUpdates)) {
    engine.failWft(run, 'failed', { cause: 1, identity, failure: { message: 'UnhandledCommand' } });
    return {};
  }
  // Reject bad commands before anything is written, so history never holds half a task.
  const bad = commands.map(invalidCommand).find((m) => m !== null);
  if (bad) {
    engine.failWft(run, 'failed', { cause: bad.cause, identity, failure: { message: bad.message } });
    throw invalidArgument(bad.message);
  }
  const completed = append(
    run,
    makeEvent(engine.clock, EventType.WORKFLOW_TASK_COMPLETED, {
      scheduledEventId: w.scheduledEventId,
      startedEventId: w.startedEventId,
      identity,
      binaryChecksum: req.binaryChecksum,
      sdkMetadata: req.sdkMetadata,
      meteringMetadata: req.meteringMetadata,
      workerVersion: req.workerVersionStamp,
    }),
  );
  const wtc = completed.eventId;
  recordBuildId(run, req);
  run.previousStartedEventId = w.startedEventId;
  const messages = new Map<string, Obj>();
  for (const m of req.messages ?? []) messages.set(m.id, m);
  const ctx: Ctx = { engine, run, wtc, identity, messages, eager: [] };
  for (const cmd of commands) {
    if (run.status !== ExecStatus.RUNNING) break;
    applyCommand(ctx, cmd);
  }
  // Messages without a command (update rejections) carry no events.
  for (const m of messages.values()) applyUpdateMessage(engine, run, m, wtc);

  if (run.status === ExecStatus.RUNNING) {
    const st = req.stickyAttributes;
    if (st?.workerTaskQueue?.name) {
      engine.setSticky(run, {
        queue: st.workerTaskQueue.name,
        scheduleToStartMs: durMs(st.scheduleToStartTimeout) || 5000,
      });
    } else {
      engine.setSticky(run, null);
    }
  }
  const requested = run.wftRequested;
  engine.endWft(run);
  const hadBuffered = flushBuffered(run);
  const pendingUpdates = [...run.updates.values()].some((u) => u.stage === 'admitted' && !u.delivered);
  if (
    run.status === ExecStatus.RUNNING &&
    (hadBuffered || requested || pendingUpdates || req.forceCreateNewWorkflowTask)
  ) {
    engine.scheduleWft(run, 1);
  }
  engine.dispatchPendingQueries(run);
  // Eager activities: hand them to the worker that scheduled them, saving it a poll.
  const activityTasks: Obj[] = [];
  for (const sid of ctx.eager) {
    const a = run.activities.get(sid);
    if (!a) continue;
    const task = claimActivity(engine, { run, scheduledEventId: sid, attempt: a.attempt }, identity);
    if (task) activityTasks.push(task);
    else engine.actQueue(run.ns, a.taskQueue).offer({ run, scheduledEventId: sid, attempt: a.attempt });
  }
  engine.touch(run);
  return { activityTasks };
}

/** WorkflowTaskFailedCause numbers from temporal.api.enums.v1. */
function invalidCommand(cmd: Obj): { cause: number; message: string } | null {
  if (cmd.commandType === CommandType.SCHEDULE_ACTIVITY_TASK) {
    const c = cmd.scheduleActivityTaskCommandAttributes ?? {};
    if (!c.activityId || !c.activityType?.name) {
      return { cause: 2, message: 'ScheduleActivityTask needs activityId and activityType' };
    }
    if (!durMs(c.startToCloseTimeout) && !durMs(c.scheduleToCloseTimeout)) {
      return {
        cause: 4,
        message: 'ScheduleActivityTask needs startToCloseTimeout or scheduleToCloseTimeout',
      };
    }
  }
  if (cmd.commandType === CommandType.START_CHILD_WORKFLOW_EXECUTION) {
    const c = cmd.startChildWorkflowExecutionCommandAttributes ?? {};
    if (!c.workflowId || !c.workflowType?.name) {
      return { cause: 16, message: 'StartChildWorkflowExecution needs workflowId and workflowType' };
    }
  }
  if (cmd.commandType === CommandType.START_TIMER && !cmd.startTimerCommandAttributes?.timerId) {
    return { cause: 4, message: 'StartTimer needs a timerId' };
  }
  return null;
}

interface Ctx {
  engine: Engine;
  run: Run;
  wtc: number;
  identity: string;
  messages: Map<string, Obj>;
  eager: number[];
}

function ev(ctx: Ctx, type: number, attrs: Obj): Obj {
  return append(ctx.run, makeEvent(ctx.engine.clock, type, attrs));
}

function applyCommand(ctx: Ctx, cmd: Obj): void {
  const { engine, run, wtc } = ctx;
  switch (cmd.commandType) {
    case CommandType.SCHEDULE_ACTIVITY_TASK: {
      const c = cmd.scheduleActivityTaskCommandAttributes ?? {};
      const s2c = durMs(c.scheduleToCloseTimeout);
      const s2s = durMs(c.scheduleToStartTimeout);
      const st2c = durMs(c.startToCloseTimeout) || s2c;
      const retryPolicy = normalizeRetryPolicy(c.retryPolicy);
      const taskQueue = c.taskQueue?.name || run.taskQueue;
      const e = ev(ctx, EventType.ACTIVITY_TASK_SCHEDULED, {
        activityId: c.activityId,
        activityType: c.activityType,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.NORMAL },
        header: c.header,
        input: c.input,
        scheduleToCloseTimeout: s2c ? dur(s2c) : undefined,
        scheduleToStartTimeout: s2s ? dur(s2s) : undefined,
        startToCloseTimeout: dur(st2c),
        heartbeatTimeout: c.heartbeatTimeout,
        workflowTaskCompletedEventId: wtc,
        retryPolicy,
      });
      const now = engine.clock.now();
      const a = {
        scheduledEventId: e.eventId,
        activityId: c.activityId,
        activityType: c.activityType?.name ?? '',
        taskQueue,
        input: c.input,
        header: c.header,
        retryPolicy,
        scheduleToCloseMs: s2c,
        scheduleToStartMs: s2s,
        startToCloseMs: st2c,
        heartbeatMs: durMs(c.heartbeatTimeout),
        firstScheduledTime: now,
        scheduledTime: now,
        attempt: 1,
        state: 'scheduled' as const,
        startedTime: 0,
        startedIdentity: '',
        lastHeartbeatTime: 0,
        cancelRequested: false,
        cancelRequestedEventId: 0,
      };
      run.activities.set(e.eventId, a);
      const eager = Boolean(c.requestEagerExecution) && taskQueue === run.taskQueue;
      scheduleActivity(engine, run, a, !eager);
      if (eager) ctx.eager.push(e.eventId);
      return;
    }
    case CommandType.REQUEST_CANCEL_ACTIVITY_TASK: {
      const sid = cmd.requestCancelActivityTaskCommandAttributes?.scheduledEventId;
      const e = ev(ctx, EventType.ACTIVITY_TASK_CANCEL_REQUESTED, {
        scheduledEventId: sid,
        workflowTaskCompletedEventId: wtc,
      });
      const a = run.activities.get(sid);
      if (a) requestCancelActivity(engine, run, a, e.eventId);
      return;
    }
    case CommandType.START_TIMER: {
      const c = cmd.startTimerCommandAttributes ?? {};
      const e = ev(ctx, EventType.TIMER_STARTED, {
        timerId: c.timerId,
        startToFireTimeout: c.startToFireTimeout,
        workflowTaskCompletedEventId: wtc,
      });
      run.timers.set(c.timerId, e.eventId);
      armWorkflowTimer(engine, run, c.timerId, e.eventId, engine.clock.now() + durMs(c.startToFireTimeout));
      return;
    }
    case CommandType.CANCEL_TIMER: {
      const timerId = cmd.cancelTimerCommandAttributes?.timerId;
      // A timer that fired while this task ran has its TimerFired buffered, unseen by the worker: as the
      // official server does, the cancel wins and the buffered fire is dropped (else the worker would meet
      // TimerFired after TimerCanceled and fail every task of the run).
      const startedEventId = run.timers.get(timerId) ?? dropBufferedTimerFired(run, timerId);
      run.timers.delete(timerId);
      ev(ctx, EventType.TIMER_CANCELED, {
        timerId,
        startedEventId: startedEventId ?? 0,
        workflowTaskCompletedEventId: wtc,
        identity: ctx.identity,
      });
      return;
    }
    case CommandType.RECORD_MARKER: {
      const c = cmd.recordMarkerCommandAttributes ?? {};
      ev(ctx, EventType.MARKER_RECORDED, {
        markerName: c.markerName,
        details: c.details,
        workflowTaskCompletedEventId: wtc,
        header: c.header,
        failure: c.failure,
      });
      return;
    }
    case CommandType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const sa = cmd.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes;
      ev(ctx, EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
        workflowTaskCompletedEventId: wtc,
        searchAttributes: sa,
      });
      mergePayloads(run.searchAttributes, sa?.indexedFields);
      return;
    }
    case CommandType.MODIFY_WORKFLOW_PROPERTIES: {
      const memo = cmd.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo;
      ev(ctx, EventType.WORKFLOW_PROPERTIES_MODIFIED, {
        workflowTaskCompletedEventId: wtc,
        upsertedMemo: memo,
      });
      mergePayloads(run.memo, memo?.fields);
      return;
    }
    case CommandType.PROTOCOL_MESSAGE: {
      const id = cmd.protocolMessageCommandAttributes?.messageId;
      const m = ctx.messages.get(id);
      if (m) {
        ctx.messages.delete(id);
        applyUpdateMessage(engine, run, m, wtc);
      }
      return;
    }
    case CommandType.COMPLETE_WORKFLOW_EXECUTION: {
      const result = cmd.completeWorkflowExecutionCommandAttributes?.result;
      // cron (cron.ts): the chain goes on with the next run.
      const next = continueCron(engine, run, { result });
      engine.closeRun(run, ExecStatus.COMPLETED, EventType.WORKFLOW_EXECUTION_COMPLETED, {
        result,
        workflowTaskCompletedEventId: wtc,
        ...(next ? { newExecutionRunId: next } : {}),
      });
      return;
    }
    case CommandType.FAIL_WORKFLOW_EXECUTION:
      failWorkflow(ctx, cmd.failWorkflowExecutionCommandAttributes?.failure);
      return;
    case CommandType.CANCEL_WORKFLOW_EXECUTION:
      engine.closeRun(run, ExecStatus.CANCELED, EventType.WORKFLOW_EXECUTION_CANCELED, {
        details: cmd.cancelWorkflowExecutionCommandAttributes?.details,
        workflowTaskCompletedEventId: wtc,
      });
      return;
    case CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      continueAsNew(ctx, cmd.continueAsNewWorkflowExecutionCommandAttributes ?? {});
      return;
    case CommandType.START_CHILD_WORKFLOW_EXECUTION:
      startChild(ctx, cmd.startChildWorkflowExecutionCommandAttributes ?? {});
      return;
    case CommandType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
      signalExternal(ctx, cmd.signalExternalWorkflowExecutionCommandAttributes ?? {});
      return;
    case CommandType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
      cancelExternal(ctx, cmd.requestCancelExternalWorkflowExecutionCommandAttributes ?? {});
      return;
    default:
      engine.log.warn(`temporal-dev: unsupported command type ${cmd.commandType} ignored`);
  }
}

/** Removes the buffered TimerFired of `timerId`, returning its started event id (undefined if none). */
function dropBufferedTimerFired(run: Run, timerId: string): number | undefined {
  const i = run.buffered.findIndex(
    (e) => e.eventType === EventType.TIMER_FIRED && attrsOf(e).timerId === timerId,
  );
  if (i < 0) return undefined;
  const [fired] = run.buffered.splice(i, 1);
  return attrsOf(fired!).startedEventId as number;
}

/** Fires TimerFired unless the timer was cancelled or the run closed meanwhile. */
export function armWorkflowTimer(
  engine: Engine,
  run: Run,
  timerId: string,
  startedEventId: number,
  at: number,
): void {
  engine.clock.schedule(at, () => {
    if (run.status !== ExecStatus.RUNNING || run.timers.get(timerId) !== startedEventId) return;
    run.timers.delete(timerId);
    engine.addExternal(run, EventType.TIMER_FIRED, { timerId, startedEventId });
    engine.touch(run);
  });
}

export function mergePayloads(target: Obj, src: Obj | undefined): void {
  for (const [k, v] of Object.entries(src ?? {})) {
    const data = v?.data ? Buffer.from(v.data).toString('utf8') : '';
    // An empty list or null value removes the attribute.
    if (!data || data === '[]' || data === 'null') delete target[k];
    else target[k] = v;
  }
}

function failWorkflow(ctx: Ctx, failure: Obj | undefined): void {
  const { engine, run, wtc } = ctx;
  let retryState = RetryState.RETRY_POLICY_NOT_SET;
  if (run.retryPolicy) {
    const policy = normalizeRetryPolicy(run.retryPolicy);
    const d = retryDecision(policy, run.attempt, failure, engine.clock.now(), run.executionExpiration);
    if ('delayMs' in d) {
      const next = engine.startRun({
        ...inheritedStart(run),
        attempt: run.attempt + 1,
        backoffMs: d.delayMs,
        continuedExecutionRunId: run.runId,
        continuedFailure: failure,
        initiator: 2, // RETRY
      });
      engine.closeRun(run, ExecStatus.FAILED, EventType.WORKFLOW_EXECUTION_FAILED, {
        failure,
        retryState: RetryState.IN_PROGRESS,
        workflowTaskCompletedEventId: wtc,
        newExecutionRunId: next.runId,
      });
      return;
    }
    retryState = d.retryState;
  }
  // cron (cron.ts): with no retry left, the chain goes on with the next run.
  const next = continueCron(engine, run, { failure });
  engine.closeRun(run, ExecStatus.FAILED, EventType.WORKFLOW_EXECUTION_FAILED, {
    failure,
    retryState,
    workflowTaskCompletedEventId: wtc,
    ...(next ? { newExecutionRunId: next } : {}),
  });
}

export function inheritedStart(run: Run) {
  const started = eventAt(run, 1)!.workflowExecutionStartedEventAttributes as Obj;
  return {
    ns: run.ns,
    workflowId: run.workflowId,
    workflowType: run.workflowType,
    taskQueue: run.taskQueue,
    input: started.input,
    header: started.header,
    memo: run.memo,
    searchAttributes: run.searchAttributes,
    executionTimeoutMs: run.executionTimeoutMs,
    runTimeoutMs: run.runTimeoutMs,
    taskTimeoutMs: run.taskTimeoutMs,
    retryPolicy: run.retryPolicy,
    firstRunId: run.firstRunId,
    parent: run.parent,
    identity: '',
    requestId: '',
    executionExpiration: run.executionExpiration,
    cronSchedule: run.cronSchedule,
    lastCompletionResult: started.lastCompletionResult,
  };
}

function continueAsNew(ctx: Ctx, c: Obj): void {
  const { engine, run, wtc } = ctx;
  const base = inheritedStart(run);
  const next = engine.startRun({
    ...base,
    workflowType: c.workflowType?.name || run.workflowType,
    taskQueue: c.taskQueue?.name || run.taskQueue,
    input: c.input,
    header: c.header ?? base.header,
    memo: c.memo?.fields ?? run.memo,
    searchAttributes: c.searchAttributes?.indexedFields ?? run.searchAttributes,
    runTimeoutMs: durMs(c.workflowRunTimeout) || run.runTimeoutMs,
    taskTimeoutMs: durMs(c.workflowTaskTimeout) || run.taskTimeoutMs,
    retryPolicy: c.retryPolicy ?? run.retryPolicy,
    attempt: 1,
    backoffMs: durMs(c.backoffStartInterval),
    continuedExecutionRunId: run.runId,
    lastCompletionResult: c.lastCompletionResult,
    initiator: 1, // WORKFLOW
  });
  engine.closeRun(run, ExecStatus.CONTINUED_AS_NEW, EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW, {
    newExecutionRunId: next.runId,
    workflowType: { name: next.workflowType },
    taskQueue: { name: next.taskQueue, kind: TaskQueueKind.NORMAL },
    input: c.input,
    workflowRunTimeout: c.workflowRunTimeout,
    workflowTaskTimeout: c.workflowTaskTimeout,
    workflowTaskCompletedEventId: wtc,
    backoffStartInterval: c.backoffStartInterval,
    initiator: 1,
    header: c.header,
    memo: c.memo,
    searchAttributes: c.searchAttributes,
  });
}

function startChild(ctx: Ctx, c: Obj): void {
  const { engine, run, wtc } = ctx;
  const ns = c.namespace || run.ns;
  const parentClosePolicy = c.parentClosePolicy || ParentClosePolicy.TERMINATE;
  const init = ev(ctx, EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED, {
    namespace: ns,
    namespaceId: engine.namespace(ns).id,
    workflowId: c.workflowId,
    workflowType: c.workflowType,
    taskQueue: c.taskQueue,
    input: c.input,
    workflowExecutionTimeout: c.workflowExecutionTimeout,
    workflowRunTimeout: c.workflowRunTimeout,
    workflowTaskTimeout: c.workflowTaskTimeout,
    parentClosePolicy,
    control: c.control,
    workflowTaskCompletedEventId: wtc,
    workflowIdReusePolicy: c.workflowIdReusePolicy,
    retryPolicy: c.retryPolicy,
    cronSchedule: c.cronSchedule,
    header: c.header,
    memo: c.memo,
    searchAttributes: c.searchAttributes,
  });
  let child: Run;
  try {
    const existing = engine.checkStart(ns, c.workflowId, '', c.workflowIdReusePolicy ?? 0, 0);
    if (existing) throw new Error('exists');
    child = engine.startRun({
      ns,
      workflowId: c.workflowId,
      workflowType: c.workflowType?.name ?? '',
      taskQueue: c.taskQueue?.name || run.taskQueue,
      input: c.input,
      header: c.header,
      memo: c.memo?.fields,
      searchAttributes: c.searchAttributes?.indexedFields,
      executionTimeoutMs: durMs(c.workflowExecutionTimeout),
      runTimeoutMs: durMs(c.workflowRunTimeout),
      taskTimeoutMs: durMs(c.workflowTaskTimeout),
      retryPolicy: c.retryPolicy,
      attempt: 1,
      parent: { ns: run.ns, workflowId: run.workflowId, runId: run.runId, initiatedEventId: init.eventId },
      // cron (cron.ts): a cron child's first task waits for the first matching time too.
      backoffMs: c.cronSchedule
        ? (cronBackoffMs(c.cronSchedule, engine.clock.now(), engine.clock.now()) ?? 0)
        : 0,
      ...(c.cronSchedule ? { cronSchedule: c.cronSchedule } : {}),
      identity: ctx.identity,
      requestId: '',
    });
  } catch {
    engine.addExternal(run, EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED, {
      namespace: ns,
      workflowId: c.workflowId,
      workflowType: c.workflowType,
      cause: 1, // WORKFLOW_ALREADY_EXISTS
      control: c.control,
      initiatedEventId: init.eventId,
      workflowTaskCompletedEventId: wtc,
    });
    return;
  }
  run.children.set(init.eventId, {
    initiatedEventId: init.eventId,
    startedEventId: 0,
    namespace: ns,
    workflowId: child.workflowId,
    runId: child.runId,
    workflowType: child.workflowType,
    parentClosePolicy,
  });
  engine.addExternal(run, EventType.CHILD_WORKFLOW_EXECUTION_STARTED, {
    namespace: ns,
    initiatedEventId: init.eventId,
    workflowExecution: { workflowId: child.workflowId, runId: child.runId },
    workflowType: c.workflowType,
    header: c.header,
  });
}

function targetRun(engine: Engine, ns: string, exec: Obj): Run | null {
  try {
    const r = engine.findRun(ns, exec);
    return r.status === ExecStatus.RUNNING ? r : null;
  } catch {
    return null;
  }
}

function signalExternal(ctx: Ctx, c: Obj): void {
  const { engine, run, wtc } = ctx;
  const ns = c.namespace || run.ns;
  const init = ev(ctx, EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, {
    workflowTaskCompletedEventId: wtc,
    namespace: ns,
    workflowExecution: c.execution,
    signalName: c.signalName,
    input: c.input,
    control: c.control,
    childWorkflowOnly: c.childWorkflowOnly,
    header: c.header,
  });
  const target = targetRun(engine, ns, c.execution);
  if (!target) {
    engine.addExternal(run, EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
      cause: 1, // EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
      workflowTaskCompletedEventId: wtc,
      namespace: ns,
      workflowExecution: c.execution,
      initiatedEventId: init.eventId,
      control: c.control,
    });
    return;
  }
  engine.signal(target, c.signalName, c.input, c.header, ctx.identity, {
    workflowId: run.workflowId,
    runId: run.runId,
  });
  engine.addExternal(run, EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, {
    initiatedEventId: init.eventId,
    namespace: ns,
    workflowExecution: { workflowId: target.workflowId, runId: target.runId },
    control: c.control,
  });
}

function cancelExternal(ctx: Ctx, c: Obj): void {
  const { engine, run, wtc } = ctx;
  const ns = c.namespace || run.ns;
  const exec = { workflowId: c.workflowId, runId: c.runId };
  const init = ev(ctx, EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, {
    workflowTaskCompletedEventId: wtc,
    namespace: ns,
    workflowExecution: exec,
    control: c.control,
    childWorkflowOnly: c.childWorkflowOnly,
    reason: c.reason,
  });
  const target = targetRun(engine, ns, exec);
  if (!target) {
    engine.addExternal(run, EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
      cause: 1,
      workflowTaskCompletedEventId: wtc,
      namespace: ns,
      workflowExecution: exec,
      initiatedEventId: init.eventId,
      control: c.control,
    });
    return;
  }
  engine.requestCancel(target, c.reason ?? '', ctx.identity, {
    initiatedEventId: init.eventId,
    execution: { workflowId: run.workflowId, runId: run.runId },
  });
  engine.addExternal(run, EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
    initiatedEventId: init.eventId,
    namespace: ns,
    workflowExecution: { workflowId: target.workflowId, runId: target.runId },
  });
}

export { unpackAny };
