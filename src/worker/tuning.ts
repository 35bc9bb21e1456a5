// The worker's concurrency settings: one place, so the deployed worker and the bench's bare-engine
// baseline (bench/bare-worker.ts) run with the same ones. WORKER_* variables override a default for an
// experiment or a bigger host; the defaults are what bench:payouts measured best on 2 cores.
import type { WorkerOptions } from '@temporalio/worker';

export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentWorkflowTaskPolls'
  | 'maxConcurrentActivityTaskPolls'
  | 'nonStickyToStickyPollRatio'
  | 'maxCachedWorkflows'
  | 'workflowThreadPoolSize'
>;

export const defaultWorkerTuning: WorkerTuning = {
  maxConcurrentActivityTaskExecutions: 100,
};

const overrides: Array<[keyof WorkerTuning, string]> = [
  ['maxConcurrentActivityTaskExecutions', 'WORKER_ACTIVITY_SLOTS'],
  ['maxConcurrentLocalActivityExecutions', 'WORKER_LOCAL_ACTIVITY_SLOTS'],
  ['maxConcurrentWorkflowTaskExecutions', 'WORKER_WORKFLOW_SLOTS'],
  ['maxConcurrentWorkflowTaskPolls', 'WORKER_WORKFLOW_POLLERS'],
  ['maxConcurrentActivityTaskPolls', 'WORKER_ACTIVITY_POLLERS'],
  ['nonStickyToStickyPollRatio', 'WORKER_NON_STICKY_POLL_RATIO'],
  ['maxCachedWorkflows', 'WORKER_MAX_CACHED_WORKFLOWS'],
  ['workflowThreadPoolSize', 'WORKER_WORKFLOW_THREADS'],
];

/** The defaults with any WORKER_* override from `env` (a number each; anything else is an error). */
export function workerTuning(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const tuning: WorkerTuning = { ...defaultWorkerTuning };
  for (const [option, variable] of overrides) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${variable} must be a positive number, got ${raw}`);
    tuning[option] = value;
  }
  return tuning;
}
