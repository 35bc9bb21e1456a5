// Builds the Disburse worker: the workflow bundle (workflows/) plus the activities wired to domain services.
import { fileURLToPath } from 'node:url';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { Tracing } from '../observability/tracing.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface DisburseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: object;
  /** A prebuilt bundle (tests build it once per file); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  maxConcurrentActivityTaskExecutions?: number;
  /** Tracing interceptors and sink (a prebuilt bundle must include `tracing.workflowModules`). */
  tracing?: Tracing | undefined;
}

export async function createDisburseWorker(opts: DisburseWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    ...tracingOptions(opts),
  });
}

/** With a prebuilt bundle the interceptor modules are in it already (the SDK warns when given again). */
function tracingOptions(opts: DisburseWorkerOptions): Partial<WorkerOptions> {
  if (!opts.tracing) return {};
  const { interceptors, sinks } = opts.tracing.workerOptions();
  if (!opts.workflowBundle) return { interceptors, sinks };
  const { workflowModules: _inBundle, ...rest } = interceptors ?? {};
  return { interceptors: rest, sinks };
}
