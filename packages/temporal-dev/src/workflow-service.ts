// temporal.api.workflowservice.v1.WorkflowService handlers: request validation and mapping onto the engine.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import {
  activityFor,
  cancelActivityReported,
  claimActivity,
  completeActivity,
  failActivity,
  heartbeat,
} from './activities.ts';
import { activityActionHandlers } from './activity-actions.ts';
import { type BatchJob, batchHandlers } from './batch-service.ts';
import { completeWorkflowTask } from './commands.ts';
import { cronBackoffMs, validateCron } from './cron.ts';
import { describeRun, executionInfo } from './describe.ts';
import type { Engine } from './engine.ts';
import { invalidArgument, notFound } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import { events, lastEvent } from './history.ts';
import { checkBlobSize, checkIdLength } from './limits.ts';
import type { Obj, Run } from './model.ts';
import { decodeToken, durMs, ts } from './model.ts';
import { namespaceHandlers } from './namespace-service.ts';
import { page, VISIBILITY_MAX_PAGE } from './paging.ts';
import { Pollers, TaskQueueType } from './pollers.ts';
import { EventType, ExecStatus, TaskQueueKind } from './proto.ts';
import { deleteWorkflow, resetWorkflow } from './reset.ts';
import { scheduleHandlers } from './schedule-service.ts';
import { Schedules } from './schedules.ts';
import { validateSearchAttributes, withTypeMetadata } from './search-attributes.ts';
import type { RecordStore } from './sqlite-store.ts';
import { pollUpdate, updateWorkflow } from './updates.ts';
import type { Visibility } from './visibility.ts';

const POLL_TIMEOUT_MS = 60_000;
/** Long polls answer (empty) a little before the caller's deadline. */
export function longPollTimeout(call: grpc.ServerUnaryCall<Obj, Obj>, max = POLL_TIMEOUT_MS): number {
  const d = call.getDeadline();
  const deadline = d instanceof Date ? d.getTime() : Number(d);
  if (!Number.isFinite(deadline) || deadline <= 0) return max;
  return Math.max(0, Math.min(max, deadline - Date.now() - 1000));
}

function onCancel(call: grpc.ServerUnaryCall<Obj, Obj>, abort: () => void): void {
  call.on('cancelled', abort);
}

/**
 * Graceful poll shutdown (namespace capability `workerPollCompleteOnShutdown`): the SDK then keeps its
 * long polls open on shutdown instead of dropping them — a task handed to a poll the client already
 * dropped is lost (a workflow task until its start-to-close timeout, a query for good) — and relies on
 * `ShutdownWorker` to answer them empty. Polls are matched to workers by `workerInstanceKey`.
 */
class WorkerPolls {
  private readonly open = new Map<string, Set<() => void>>();
  private readonly shutDown = new Set<string>();

  async poll<R extends Obj>(
    key: string | undefined,
    start: () => { result: Promise<R | null>; abort: () => void },
  ): Promise<Obj> {
    // A poll the worker sent just before ShutdownWorker but that arrived after it.
    if (key && this.shutDown.has(key)) return {};
    const { result, abort } = start();
    if (!key) return (await result) ?? {};
    let set = this.open.get(key);
    if (!set) {
      set = new Set();
      this.open.set(key, set);
    }
    set.add(abort);
    try {
      return (await result) ?? {};
    } finally {
      set.delete(abort);
      if (set.size === 0) this.open.delete(key);
    }
  }

  shutdown(key: string): void {
    this.shutDown.add(key);
    if (this.shutDown.size > 10_000) this.shutDown.delete(this.shutDown.values().next().value!);
    for (const abort of [...(this.open.get(key) ?? [])]) abort();
  }
}

export function startParams(engine: Engine, req: Obj) {
  if (!req.workflowId) throw invalidArgument('workflowId is required');
  if (!req.workflowType?.name) throw invalidArgument('workflowType.name is required');
  if (!req.taskQueue?.name) throw invalidArgument('taskQueue.name is required');
  // The real frontend's limits (limits.ts): names up to limit.maxIDLength, input up to limit.blobSize.error.
  checkIdLength(req.workflowId, 'WorkflowId');
  checkIdLength(req.workflowType.name, 'WorkflowType');
  checkIdLength(req.taskQueue.name, 'TaskQueue');
  checkBlobSize(req.input, 'StartWorkflowExecution', engine.log.warn);
  validateSearchAttributes(engine.namespace(req.namespace), req.searchAttributes?.indexedFields);
  // cron (cron.ts): the first workflow task waits for the first matching time.
  validateCron(req.cronSchedule);
  if (req.cronSchedule && durMs(req.workflowStartDelay) > 0)
    throw invalidArgument('CronSchedule and WorkflowStartDelay may not be used together.');
  const now = engine.clock.now();
  return {
    ns: req.namespace,
    workflowId: req.workflowId,
    workflowType: req.workflowType.name,
    taskQueue: req.taskQueue.name,
    input: req.input,
    header: req.header,
    memo: req.memo?.fields,
    // Typed as registered (Datetime reaches the workflow as a Date), as the real server stores them.
    searchAttributes: req.searchAttributes?.indexedFields
      ? withTypeMetadata(engine.namespace(req.namespace), req.searchAttributes.indexedFields)
      : undefined,
    executionTimeoutMs: durMs(req.workflowExecutionTimeout),
    runTimeoutMs: durMs(req.workflowRunTimeout),
    taskTimeoutMs: durMs(req.workflowTaskTimeout),
    retryPolicy: req.retryPolicy,
    attempt: 1,
    backoffMs: req.cronSchedule
      ? (cronBackoffMs(req.cronSchedule, now, now) ?? 0)
      : durMs(req.workflowStartDelay),
    identity: req.identity ?? '',
    requestId: req.requestId ?? '',
    cronSchedule: req.cronSchedule,
    continuedFailure: req.continuedFailure,
    lastCompletionResult: req.lastCompletionResult,
  };
}

export function startWorkflow(engine: Engine, req: Obj, extra?: (run: Run) => void): Obj {
  const p = startParams(engine, req);
  const existing = engine.checkStart(
    p.ns,
    p.workflowId,
    p.requestId,
    req.workflowIdReusePolicy ?? 0,
    req.workflowIdConflictPolicy ?? 0,
  );
  if (existing) {
    return { runId: existing.runId, started: false, status: existing.status };
  }
  const run = engine.startRun(p, extra);
  return { runId: run.runId, started: true, status: ExecStatus.RUNNING };
}

export function workflowServiceHandlers(
  engine: Engine,
  visibility: Visibility,
  opts: { version: string; schedules?: Schedules; batchJobs?: RecordStore<BatchJob> },
): Handlers {
  const ns = (req: Obj) => {
    engine.namespace(req.namespace);
    return req.namespace as string;
  };
  const workerPolls = new WorkerPolls();
  const pollers = new Pollers();
  const clusterId = randomUUID();
  const list = (req: Obj, query: string) => {
    ns(req);
    const { rows, nextPageToken } = page(
      visibility.list(req.namespace, query),
      req.pageSize ?? req.maximumPageSize,
      req.nextPageToken,
      VISIBILITY_MAX_PAGE,
    );
    return { executions: rows.map((r) => executionInfo(engine, r)), nextPageToken };
  };
  return {
    GetSystemInfo: () => ({
      serverVersion: opts.version,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: true,
        encodedFailureAttributes: true,
        buildIdBasedVersioning: false,
        upsertMemo: true,
        eagerWorkflowStart: false,
        sdkMetadata: true,
        countGroupByExecutionStatus: true,
        nexus: false,
      },
    }),
    // What Temporal UI asks first (it renders nothing without it); shaped as the official dev server answers.
    GetClusterInfo: () => ({
      supportedClients: {
        'temporal-cli': '< 2.0.0',
        'temporal-go': '< 2.0.0',
        'temporal-java': '< 2.0.0',
        'temporal-php': '< 2.0.0',
        'temporal-server': '< 2.0.0',
        'temporal-typescript': '< 2.0.0',
        'temporal-ui': '< 3.0.0',
      },
      serverVersion: opts.version,
      clusterId,
      clusterName: 'active',
      historyShardCount: 1,
      persistenceStore: 'temporal-dev',
      visibilityStore: 'temporal-dev',
      failoverVersionIncrement: 10,
      initialFailoverVersion: 1,
      isGlobalNamespaceEnabled: false,
    }),
    // Namespaces (namespace-service.ts).
    ...namespaceHandlers(engine),
    // Batch operations (batch-service.ts).
    ...batchHandlers(engine, visibility, opts.batchJobs),
    ...activityActionHandlers(engine),

    StartWorkflowExecution: (req) => {
      ns(req);
      return startWorkflow(engine, req);
    },
    SignalWithStartWorkflowExecution: (req) => {
      ns(req);
      if (!req.signalName) throw invalidArgument('signalName is required');
      checkIdLength(req.signalName, 'SignalName');
      checkBlobSize(req.signalInput, 'SignalWithStartWorkflowExecution', engine.log.warn);
      const cur = engine.current.get(engine.key(req.namespace, req.workflowId));
      if (cur && cur.status === ExecStatus.RUNNING && !(req.workflowIdConflictPolicy === 3)) {
        engine.signal(cur, req.signalName, req.signalInput, req.header, req.identity ?? '');
        return { runId: cur.runId, started: false };
      }
      const res = startWorkflow(
        engine,
        { ...req, workflowIdConflictPolicy: req.workflowIdConflictPolicy || 2 },
        (run) =>
          engine.addExternal(run, EventType.WORKFLOW_EXECUTION_SIGNALED, {
            signalName: req.signalName,
            input: req.signalInput,
            identity: req.identity,
            header: req.header,
          }),
      );
      return { runId: res.runId, started: res.started };
    },
    SignalWorkflowExecution: (req) => {
      ns(req);
      if (!req.signalName) throw invalidArgument('signalName is required');
      checkIdLength(req.signalName, 'SignalName');
      checkBlobSize(req.input, 'SignalWorkflowExecution', engine.log.warn);
      const run = engine.findOpenRun(req.namespace, req.workflowExecution);
      engine.signal(run, req.signalName, req.input, req.header, req.identity ?? '');
      return {};
    },
    RequestCancelWorkflowExecution: (req) => {
      ns(req);
      const run = engine.findOpenRun(req.namespace, req.workflowExecution);
      engine.requestCancel(run, req.reason ?? '', req.identity ?? '');
      return {};
    },
    TerminateWorkflowExecution: (req) => {
      ns(req);
      const run = engine.findOpenRun(req.namespace, req.workflowExecution);
      engine.terminate(run, req.reason ?? '', req.details, req.identity ?? '');
      return {};
    },
    // [sqlite] reset and delete: reset.ts
    ResetWorkflowExecution: (req) => {
      ns(req);
      return resetWorkflow(engine, req);
    },
    DeleteWorkflowExecution: (req) => {
      ns(req);
      return deleteWorkflow(engine, req);
    },
    DescribeWorkflowExecution: (req) => {
      ns(req);
      return describeRun(engine, engine.findRun(req.namespace, req.execution));
    },
    GetWorkflowExecutionHistory: async (req, call) => {
      ns(req);
      let run = engine.findRun(req.namespace, req.execution);
      const closeOnly = req.historyEventFilterType === 2;
      const timeout = longPollTimeout(call, 20_000);
      const deadline = Date.now() + timeout;
      if (closeOnly) {
        while (
          run.status === ExecStatus.RUNNING &&
          req.waitNewEvent &&
          Date.now() < deadline &&
          !engine.stopping
        ) {
          await engine.waitChange(run, deadline - Date.now());
          run = engine.runs.get(run.runId)!;
        }
        if (run.status === ExecStatus.RUNNING)
          return { history: { events: [] }, nextPageToken: Buffer.from('w') };
        return { history: { events: [lastEvent(run)] } };
      }
      const from = req.nextPageToken?.length ? Number(Buffer.from(req.nextPageToken).toString()) : 1;
      while (
        req.waitNewEvent &&
        run.status === ExecStatus.RUNNING &&
        run.historyLength < from &&
        Date.now() < deadline &&
        !engine.stopping
      ) {
        await engine.waitChange(run, deadline - Date.now());
      }
      // maximumPageSize unset: all events at once (the official server pages by 256; clients follow tokens).
      const size = req.maximumPageSize > 0 ? req.maximumPageSize : Number.POSITIVE_INFINITY;
      const page = events(run, from, from - 1 + size);
      const end = from - 1 + page.length; // events sent so far
      const more = end < run.historyLength || (req.waitNewEvent && run.status === ExecStatus.RUNNING);
      return {
        history: { events: page },
        nextPageToken: more ? Buffer.from(String(end + 1)) : undefined,
      };
    },
    GetWorkflowExecutionHistoryReverse: (req) => {
      ns(req);
      const run = engine.findRun(req.namespace, req.execution);
      // The token is the id of the next (older) event to send; the first page starts at the last one.
      const last = req.nextPageToken?.length
        ? Number(Buffer.from(req.nextPageToken).toString())
        : run.historyLength;
      const size = req.maximumPageSize > 0 ? req.maximumPageSize : last;
      const first = Math.max(1, last - size + 1);
      return {
        history: { events: events(run, first, last).reverse() },
        nextPageToken: first > 1 ? Buffer.from(String(first - 1)) : undefined,
      };
    },

    PollWorkflowTaskQueue: async (req, call) => {
      ns(req);
      const q = engine.wfQueue(req.namespace, req.taskQueue?.name ?? '');
      pollers.record(req.namespace, req.taskQueue?.name ?? '', TaskQueueType.WORKFLOW, req);
      return workerPolls.poll(req.workerInstanceKey, () => {
        const p = q.poll((t) => engine.claimWorkflowTicket(t, req.identity ?? ''), longPollTimeout(call));
        onCancel(call, p.abort);
        return p;
      });
    },
    RespondWorkflowTaskCompleted: (req) => {
      const { run } = wftFor(engine, req.taskToken);
      return completeWorkflowTask(engine, run, req);
    },
    RespondWorkflowTaskFailed: (req) => {
      const { run } = wftFor(engine, req.taskToken);
      engine.failWft(run, 'failed', req);
      return {};
    },
    RespondQueryTaskCompleted: (req) => {
      const t = decodeToken(req.taskToken);
      const q = t ? engine.queries.get(t.id) : undefined;
      if (!q) throw notFound('query task not found (it may have timed out)');
      if (req.completedType === 1) q.finish({ answer: req.queryResult ?? {} });
      else q.finish({ error: req.errorMessage || req.failure?.message || 'query failed' });
      return {};
    },
    QueryWorkflow: async (req, call) => {
      ns(req);
      const run = engine.findRun(req.namespace, req.execution);
      const reject = req.queryRejectCondition ?? 0;
      if (
        // QueryRejectCondition: 2 = NOT_OPEN, 3 = NOT_COMPLETED_CLEANLY
        (reject === 2 && run.status !== ExecStatus.RUNNING) ||
        (reject === 3 && run.status !== ExecStatus.RUNNING && run.status !== ExecStatus.COMPLETED)
      ) {
        return { queryRejected: { status: run.status } };
      }
      const res = await new Promise<{ answer?: Obj; error?: string }>((resolve) => {
        const q = engine.newQuery(run, req.query ?? {}, resolve);
        const timer = setTimeout(() => q.finish({ error: 'DEADLINE' }), longPollTimeout(call, 30_000));
        const orig = q.finish;
        q.finish = (r) => {
          clearTimeout(timer);
          orig(r);
        };
      });
      if (res.error === 'DEADLINE') {
        const { RpcError } = await import('./errors.ts');
        throw new RpcError(4, 'query timed out: no worker answered (is a worker polling the task queue?)');
      }
      if (res.error !== undefined) throw invalidArgument(res.error);
      return { queryResult: res.answer };
    },

    PollActivityTaskQueue: async (req, call) => {
      ns(req);
      const q = engine.actQueue(req.namespace, req.taskQueue?.name ?? '');
      pollers.record(req.namespace, req.taskQueue?.name ?? '', TaskQueueType.ACTIVITY, req);
      return workerPolls.poll(req.workerInstanceKey, () => {
        const p = q.poll((t) => claimActivity(engine, t, req.identity ?? ''), longPollTimeout(call));
        onCancel(call, p.abort);
        return p;
      });
    },
    RespondActivityTaskCompleted: (req) => {
      const { run, a } = activityFor(engine, decodeToken(req.taskToken));
      completeActivity(engine, run, a, req.result, req.identity ?? '');
      return {};
    },
    RespondActivityTaskCompletedById: (req) => {
      const { run, a } = activityFor(engine, null, byId(req));
      completeActivity(engine, run, a, req.result, req.identity ?? '');
      return {};
    },
    RespondActivityTaskFailed: (req) => {
      const { run, a } = activityFor(engine, decodeToken(req.taskToken));
      failActivity(engine, run, a, req.failure, req.identity ?? '', req.lastHeartbeatDetails);
      return {};
    },
    RespondActivityTaskFailedById: (req) => {
      const { run, a } = activityFor(engine, null, byId(req));
      failActivity(engine, run, a, req.failure, req.identity ?? '', req.lastHeartbeatDetails);
      return {};
    },
    RespondActivityTaskCanceled: (req) => {
      const { run, a } = activityFor(engine, decodeToken(req.taskToken));
      cancelActivityReported(engine, run, a, req.details, req.identity ?? '');
      return {};
    },
    RespondActivityTaskCanceledById: (req) => {
      const { run, a } = activityFor(engine, null, byId(req));
      cancelActivityReported(engine, run, a, req.details, req.identity ?? '');
      return {};
    },
    RecordActivityTaskHeartbeat: (req) => {
      const { run, a } = activityFor(engine, decodeToken(req.taskToken));
      return heartbeat(engine, run, a, req.details);
    },
    RecordActivityTaskHeartbeatById: (req) => {
      const { run, a } = activityFor(engine, null, byId(req));
      return heartbeat(engine, run, a, req.details);
    },

    UpdateWorkflowExecution: (req, call) => {
      ns(req);
      return updateWorkflow(engine, req, longPollTimeout(call, 20_000));
    },
    PollWorkflowExecutionUpdate: (req, call) => {
      ns(req);
      return pollUpdate(engine, req, longPollTimeout(call, 20_000));
    },
    ExecuteMultiOperation: async (req, call) => {
      ns(req);
      const [startOp, updateOp] = req.operations ?? [];
      const start = startOp?.startWorkflow;
      const update = updateOp?.updateWorkflow;
      if (!start || !update)
        throw invalidArgument('ExecuteMultiOperation supports exactly [startWorkflow, updateWorkflow]');
      const startRes = startWorkflow(engine, { ...start, namespace: req.namespace });
      const updRes = await updateWorkflow(
        engine,
        {
          ...update,
          namespace: req.namespace,
          workflowExecution: { workflowId: start.workflowId, runId: startRes.runId },
        },
        longPollTimeout(call, 20_000),
      );
      return { responses: [{ startWorkflow: startRes }, { updateWorkflow: updRes }] };
    },

    ResetStickyTaskQueue: (req) => {
      const run = engine.findRun(req.namespace, req.execution);
      engine.unstick(run);
      return {};
    },
    ShutdownWorker: (req) => {
      if (req.stickyTaskQueue) engine.shutdownStickyQueue(req.namespace, req.stickyTaskQueue);
      if (req.workerInstanceKey) workerPolls.shutdown(req.workerInstanceKey);
      return {};
    },
    RecordWorkerHeartbeat: () => ({}),
    // Temporal UI reads the legacy answer (pollers of one queue type); the enhanced mode answers per
    // (unversioned) build id and type. Stats are the backlog: no rates are measured here.
    DescribeTaskQueue: (req) => {
      ns(req);
      const name = req.taskQueue?.name;
      if (!name) throw invalidArgument('taskQueue.name is required');
      const backlog = (type: number) =>
        (type === TaskQueueType.ACTIVITY
          ? engine.actQueue(req.namespace, name)
          : engine.wfQueue(req.namespace, name)
        ).backlog;
      if (req.apiMode === 1) {
        const types: number[] = req.taskQueueTypes?.length
          ? req.taskQueueTypes
          : [TaskQueueType.WORKFLOW, TaskQueueType.ACTIVITY];
        const typesInfo = Object.fromEntries(
          types.map((t) => [
            t,
            {
              ...(req.reportPollers ? { pollers: pollers.list(req.namespace, name, t) } : {}),
              ...(req.reportStats ? { stats: { approximateBacklogCount: backlog(t) } } : {}),
            },
          ]),
        );
        return { versionsInfo: { '': { typesInfo } } };
      }
      const type = req.taskQueueType || TaskQueueType.WORKFLOW;
      const res: Obj = { pollers: pollers.list(req.namespace, name, type) };
      if (req.includeTaskQueueStatus)
        res.taskQueueStatus = { backlogCountHint: backlog(type), ratePerSecond: 100_000 };
      if (req.reportStats) res.stats = { approximateBacklogCount: backlog(type) };
      return res;
    },

    ListWorkflowExecutions: (req) => list(req, req.query ?? ''),
    ListOpenWorkflowExecutions: (req) => list(req, "ExecutionStatus = 'Running'"),
    ListClosedWorkflowExecutions: (req) => list(req, "ExecutionStatus != 'Running'"),
    ScanWorkflowExecutions: (req) => list(req, req.query ?? ''),
    CountWorkflowExecutions: (req) => {
      ns(req);
      return visibility.count(req.namespace, req.query ?? '');
    },
    GetSearchAttributes: () => ({ keys: {} }),
    // Schedules (schedule-service.ts, schedules.ts).
    ...scheduleHandlers(engine, opts.schedules ?? new Schedules(engine)),
  };
}

function wftFor(engine: Engine, token: Uint8Array | undefined): { run: Run } {
  const t = decodeToken(token);
  const run = t ? engine.runs.get(t.runId) : undefined;
  const w = run?.wft;
  if (!t || !run || !w || w.scheduledEventId !== t.id || w.attempt !== t.attempt || w.startedEventId === 0) {
    throw notFound('workflow task not found (it may have timed out or the workflow closed)');
  }
  return { run };
}

function byId(req: Obj) {
  return {
    ns: req.namespace,
    workflowId: req.workflowId,
    runId: req.runId || undefined,
    activityId: req.activityId,
  };
}

export { TaskQueueKind, ts };
