// Batch operations as the real server's batcher runs them: terminate, cancel, signal or delete every
// workflow a visibility query (or a list of executions) names, then Describe / List / Stop the job.
// Here a job runs to completion inside StartBatchOperation (the engine is in-process), so it is COMPLETED
// when the call returns; a workflow already closed counts as done for terminate and cancel (the batcher
// ignores NotFound there) and as a failure for signal.
import type { Engine } from './engine.ts';
import { alreadyExists, invalidArgument, notFound, RpcError } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import type { Obj, Run } from './model.ts';
import { ts } from './model.ts';
import { page } from './paging.ts';
import { ExecStatus } from './proto.ts';
import { deleteWorkflow } from './reset.ts';
import type { RecordStore } from './sqlite-store.ts';
import type { Visibility } from './visibility.ts';

/** BatchOperationType as a 1.28 server reports them. */
const TYPE = { terminate: 1, cancel: 2, signal: 3, delete: 4 } as const;
/** BatchOperationState */
const STATE_COMPLETED = 2;
const MAX_JOBS_PAGE = 1000;

export interface BatchJob {
  ns: string;
  jobId: string;
  type: number;
  state: number;
  startTime: number;
  closeTime: number;
  total: number;
  completed: number;
  failed: number;
  identity: string;
  reason: string;
  query: string;
}

type Operation = (run: Run) => void;

function operationOf(engine: Engine, req: Obj): { type: number; identity: string; apply: Operation } {
  if (req.terminationOperation) {
    const op = req.terminationOperation;
    return {
      type: TYPE.terminate,
      identity: op.identity ?? '',
      apply: (run) => {
        if (run.status === ExecStatus.RUNNING)
          engine.terminate(run, req.reason, op.details, op.identity ?? '');
      },
    };
  }
  if (req.cancellationOperation) {
    const op = req.cancellationOperation;
    return {
      type: TYPE.cancel,
      identity: op.identity ?? '',
      apply: (run) => {
        if (run.status === ExecStatus.RUNNING) engine.requestCancel(run, req.reason, op.identity ?? '');
      },
    };
  }
  if (req.signalOperation) {
    const op = req.signalOperation;
    if (!op.signal) throw invalidArgument('signalOperation.signal is required');
    return {
      type: TYPE.signal,
      identity: op.identity ?? '',
      apply: (run) => {
        if (run.status !== ExecStatus.RUNNING) throw notFound('workflow execution already completed');
        engine.signal(run, op.signal, op.input, op.header, op.identity ?? '');
      },
    };
  }
  if (req.deletionOperation) {
    const op = req.deletionOperation;
    return {
      type: TYPE.delete,
      identity: op.identity ?? '',
      apply: (run) => {
        deleteWorkflow(engine, {
          namespace: run.ns,
          workflowExecution: { workflowId: run.workflowId, runId: run.runId },
        });
      },
    };
  }
  throw invalidArgument(
    'batch operation is not set on request (temporal-dev runs termination, cancellation, signal and deletion)',
  );
}

/** `store` keeps the jobs across a restart (the --db-filename state); without one they live in memory. */
export function batchHandlers(
  engine: Engine,
  visibility: Visibility,
  store?: RecordStore<BatchJob>,
): Handlers {
  const jobs = new Map<string, BatchJob>();
  const key = (ns: string, jobId: string) => `${ns}\u0000${jobId}`;
  for (const j of store?.load() ?? []) jobs.set(key(j.ns, j.jobId), j);
  const find = (req: Obj): BatchJob => {
    if (!req.jobId) throw invalidArgument('JobId is not set on request.');
    const job = jobs.get(key(req.namespace, req.jobId));
    if (!job) throw notFound(`batch operation ${req.jobId} not found`);
    return job;
  };
  return {
    StartBatchOperation: (req) => {
      engine.namespace(req.namespace);
      if (!req.jobId) throw invalidArgument('JobId is not set on request.');
      if (!req.reason) throw invalidArgument('Reason is not set on request.');
      const executions: Obj[] = req.executions ?? [];
      if (!req.visibilityQuery && executions.length === 0)
        throw invalidArgument('must provide either a visibility query or a list of executions');
      if (req.visibilityQuery && executions.length > 0)
        throw invalidArgument('visibility query and executions are mutually exclusive');
      if (jobs.has(key(req.namespace, req.jobId)))
        throw alreadyExists(`batch operation ${req.jobId} already exists`);
      const op = operationOf(engine, req);
      const targets: Run[] = req.visibilityQuery
        ? visibility.list(req.namespace, req.visibilityQuery)
        : executions.map((e) => engine.findRun(req.namespace, e));
      const job: BatchJob = {
        ns: req.namespace,
        jobId: req.jobId,
        type: op.type,
        state: STATE_COMPLETED,
        startTime: engine.clock.now(),
        closeTime: 0,
        total: targets.length,
        completed: 0,
        failed: 0,
        identity: op.identity,
        reason: req.reason,
        query: req.visibilityQuery ?? '',
      };
      for (const run of targets) {
        try {
          op.apply(run);
          job.completed++;
        } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          job.failed++;
        }
      }
      job.closeTime = engine.clock.now();
      jobs.set(key(req.namespace, req.jobId), job);
      store?.save(job);
      return {};
    },
    // Every job has finished by the time StartBatchOperation answers: stopping one changes nothing.
    StopBatchOperation: (req) => {
      find(req);
      return {};
    },
    DescribeBatchOperation: (req) => {
      const job = find(req);
      return {
        operationType: job.type,
        jobId: job.jobId,
        state: job.state,
        startTime: ts(job.startTime),
        closeTime: ts(job.closeTime),
        totalOperationCount: job.total,
        completeOperationCount: job.completed,
        failureOperationCount: job.failed,
        identity: job.identity,
        reason: job.reason,
        query: job.query,
      };
    },
    ListBatchOperations: (req) => {
      engine.namespace(req.namespace);
      const mine = [...jobs.values()]
        .filter((j) => j.ns === req.namespace)
        .sort((a, b) => b.startTime - a.startTime);
      const { rows, nextPageToken } = page(mine, req.pageSize, req.nextPageToken, MAX_JOBS_PAGE);
      return {
        operationInfo: rows.map((j) => ({
          jobId: j.jobId,
          state: j.state,
          startTime: ts(j.startTime),
          closeTime: ts(j.closeTime),
        })),
        nextPageToken,
      };
    },
  };
}
