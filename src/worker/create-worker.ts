// Builds the Disburse worker: the workflow bundle (workflows/) plus the activities wired to domain services.
import { fileURLToPath } from 'node:url';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Runtime, Worker } from '@temporalio/worker';
import { activityLogInterceptors, workflowLogInterceptors } from '../observability/activity-log.ts';
import type { Tracing } from '../observability/tracing.ts';
import { type WorkerTuning, workerTuning } from './tuning.ts';
import { type WatchdogLog, watchWorkflowThreads } from './workflow-watchdog.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Workflow interceptor modules a bundle must include (bundleWorkflowCode's workflowInterceptorModules). */
export function workflowInterceptorModules(tracing?: Tracing): string[] {
  return [fileURLToPath(workflowLogInterceptors), ...(tracing?.workflowModules ?? [])];
}

export interface DisburseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: object;
  /**
   * A prebuilt bundle (tests build it once per file), built with `workflowInterceptorModules(tracing)`;
   * otherwise workflows/ is bundled at start.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Overrides of the tuning (src/worker/tuning.ts: its defaults and WORKER_* variables). */
  tuning?: WorkerTuning;
  /** Tracing interceptors and sink. */
  tracing?: Tracing | undefined;
  /**
   * How long one entry into workflow code may run before its thread is stopped (src/worker/workflow-watchdog.ts;
   * default 5 s, the SDK's), and where that is reported (default: the SDK Runtime's logger).
   */
  workflowStallMs?: number;
  log?: WatchdogLog;
}

export async function createDisburseWorker(opts: DisburseWorkerOptions): Promise<Worker> {
  const traced = opts.tracing?.workerOptions();
  watchWorkflowThreads({ limitMs: opts.workflowStallMs, log: opts.log ?? Runtime.instance().logger });
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath }),
    ...workerTuning(),
    ...opts.tuning,
    interceptors: {
      // With a prebuilt bundle the modules are in it already (the SDK warns when given again).
      ...(opts.workflowBundle ? {} : { workflowModules: workflowInterceptorModules(opts.tracing) }),
      activity: [activityLogInterceptors, ...(traced?.interceptors?.activity ?? [])],
    },
    ...(traced?.sinks ? { sinks: traced.sinks } : {}),
  });
}
