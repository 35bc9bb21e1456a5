// DescribeWorkflowExecution / visibility rows built from a run's mutable state.
import { activityOptionsOf } from './activities.ts';
import type { Engine } from './engine.ts';
import { historySizeBytes } from './history-size.ts';
import type { Obj, Run } from './model.ts';
import { dur, ts } from './model.ts';
import { TaskQueueKind } from './proto.ts';
import { withTypeMetadata } from './search-attributes.ts';

export function executionInfo(engine: Engine, run: Run): Obj {
  return {
    execution: { workflowId: run.workflowId, runId: run.runId },
    type: { name: run.workflowType },
    startTime: ts(run.startTime),
    closeTime: run.closeTime ? ts(run.closeTime) : undefined,
    status: run.status,
    historyLength: run.historyLength,
    executionTime: ts(run.executionTime),
    memo: { fields: run.memo },
    searchAttributes: {
      indexedFields: withTypeMetadata(engine.namespace(run.ns), run.searchAttributes),
    },
    taskQueue: run.taskQueue,
    firstRunId: run.firstRunId,
    parentExecution: run.parent ? { workflowId: run.parent.workflowId, runId: run.parent.runId } : undefined,
    historySizeBytes: historySizeBytes(run),
    executionDuration: run.closeTime ? dur(run.closeTime - run.executionTime) : undefined,
  };
}

const activityStates = { scheduled: 1, started: 2, backoff: 1 } as const;

export function describeRun(engine: Engine, run: Run): Obj {
  return {
    executionConfig: {
      taskQueue: { name: run.taskQueue, kind: TaskQueueKind.NORMAL },
      workflowExecutionTimeout: run.executionTimeoutMs ? dur(run.executionTimeoutMs) : undefined,
      workflowRunTimeout: run.runTimeoutMs ? dur(run.runTimeoutMs) : undefined,
      defaultWorkflowTaskTimeout: dur(run.taskTimeoutMs),
    },
    workflowExecutionInfo: executionInfo(engine, run),
    pendingActivities: [...run.activities.values()].map((a) => ({
      activityId: a.activityId,
      activityType: { name: a.activityType },
      // CANCEL_REQUESTED, else PAUSE_REQUESTED (running) / PAUSED (not), as the server reports them.
      state: a.cancelRequested ? 3 : a.paused ? (a.state === 'started' ? 5 : 4) : activityStates[a.state],
      paused: !!a.paused,
      activityOptions: activityOptionsOf(a),
      pauseInfo: a.paused
        ? { pauseTime: ts(a.paused.time), manual: { identity: a.paused.identity, reason: a.paused.reason } }
        : undefined,
      heartbeatDetails: a.heartbeatDetails,
      lastHeartbeatTime: a.lastHeartbeatTime ? ts(a.lastHeartbeatTime) : undefined,
      lastStartedTime: a.startedTime ? ts(a.startedTime) : undefined,
      attempt: a.attempt,
      maximumAttempts: a.retryPolicy.maximumAttempts ?? 0,
      scheduledTime: ts(a.scheduledTime),
      expirationTime: a.scheduleToCloseMs ? ts(a.firstScheduledTime + a.scheduleToCloseMs) : undefined,
      lastFailure: a.lastFailure,
      lastWorkerIdentity: a.startedIdentity,
    })),
    pendingChildren: [...run.children.values()].map((c) => ({
      workflowId: c.workflowId,
      runId: c.runId,
      workflowTypeName: c.workflowType,
      initiatedId: c.initiatedEventId,
      parentClosePolicy: c.parentClosePolicy,
    })),
    pendingWorkflowTask: run.wft
      ? {
          state: run.wft.startedEventId ? 2 : 1,
          scheduledTime: ts(run.wft.scheduledTime),
          startedTime: run.wft.startedTime ? ts(run.wft.startedTime) : undefined,
          attempt: run.wft.attempt,
        }
      : undefined,
  };
}
