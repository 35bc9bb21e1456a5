// The worker's concurrency settings: one place, so the deployed worker and the bench's bare-engine
// baseline (bench/bare-worker.ts) run with the same ones. WORKER_* variables (src/config/worker.ts) override a
// default for an experiment or a bigger host; the defaults are what bench:payouts measured best on 2 cores.
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError } from '../config/section.ts';
import { workerSection } from '../config/worker.ts';

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

/**
 * The defaults with the WORKER_* overrides of `env`, parsed and checked by the config (src/config/worker.ts:
 * each variable's range). Throws ConfigError naming every bad one.
 */
export function workerTuning(env: Readonly<Record<string, string | undefined>> = process.env): WorkerTuning {
  const parsed = workerSection.parse(env);
  if (!parsed.ok) throw new ConfigError(parsed.problems);
  return { ...defaultWorkerTuning, ...parsed.value.tuning };
}
