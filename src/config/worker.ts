// The worker's concurrency overrides (WORKER_*), for an experiment or a bigger host. Only the overrides
// are parsed here: the defaults stay with the tuning they belong to (src/worker/tuning.ts, which merges
// the two), so a variable left unset means "the default", whatever it is.
import { z } from 'zod';
import { defineConfigSection } from './section.ts';

/** An optional whole number within bounds; unset stays unset (the tuning's default applies). */
function optionalInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional();
}

/** Which WorkerOptions field of @temporalio/worker each variable sets. */
export const WORKER_TUNING_VARIABLES = {
  WORKER_ACTIVITY_SLOTS: 'maxConcurrentActivityTaskExecutions',
  WORKER_LOCAL_ACTIVITY_SLOTS: 'maxConcurrentLocalActivityExecutions',
  WORKER_WORKFLOW_SLOTS: 'maxConcurrentWorkflowTaskExecutions',
  WORKER_WORKFLOW_POLLERS: 'maxConcurrentWorkflowTaskPolls',
  WORKER_ACTIVITY_POLLERS: 'maxConcurrentActivityTaskPolls',
  WORKER_NON_STICKY_POLL_RATIO: 'nonStickyToStickyPollRatio',
  WORKER_MAX_CACHED_WORKFLOWS: 'maxCachedWorkflows',
  WORKER_WORKFLOW_THREADS: 'workflowThreadPoolSize',
} as const;

/** Numeric WorkerOptions that WORKER_* variables set. */
export type WorkerTuningOverrides = {
  -readonly [K in keyof typeof WORKER_TUNING_VARIABLES as (typeof WORKER_TUNING_VARIABLES)[K]]?: number;
};

export const workerSection = defineConfigSection(
  'worker',
  z.object({
    WORKER_ACTIVITY_SLOTS: optionalInt(1, 10_000).describe(
      'an integer 1-10000: activities run at once by one worker (default 100, src/worker/tuning.ts)',
    ),
    WORKER_LOCAL_ACTIVITY_SLOTS: optionalInt(1, 10_000).describe(
      "an integer 1-10000: local activities run at once (default the SDK's, 100)",
    ),
    WORKER_WORKFLOW_SLOTS: optionalInt(2, 10_000).describe(
      "an integer 2-10000: workflow tasks run at once; at least 2, as the SDK requires with the workflow cache on (default the SDK's, 40)",
    ),
    WORKER_WORKFLOW_POLLERS: optionalInt(2, 1_000).describe(
      "an integer 2-1000: concurrent workflow task polls; at least 2, as the SDK requires with the workflow cache on (default the SDK's, 10)",
    ),
    WORKER_ACTIVITY_POLLERS: optionalInt(1, 1_000).describe(
      "an integer 1-1000: concurrent activity task polls (default the SDK's, 10)",
    ),
    WORKER_NON_STICKY_POLL_RATIO: z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'must be a decimal number from 0 to 1')
      .transform(Number)
      .pipe(z.number().gt(0, 'must be more than 0').max(1))
      .optional()
      .describe(
        "a decimal number more than 0, at most 1: share of the workflow pollers on the shared (non-sticky) queue (default the SDK's, 0.2)",
      ),
    WORKER_MAX_CACHED_WORKFLOWS: optionalInt(0, 100_000)
      .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2: the SDK turns 1 into 2')
      .describe(
        "0 (workflow cache off) or an integer 2-100000: workflows kept in memory between tasks (default the SDK's, from the heap size)",
      ),
    WORKER_WORKFLOW_THREADS: optionalInt(1, 64).describe(
      "an integer 1-64: threads running workflow code (default the SDK's, 1)",
    ),
  }),
  (v) => {
    const tuning: WorkerTuningOverrides = {};
    for (const [variable, option] of Object.entries(WORKER_TUNING_VARIABLES)) {
      const value = v[variable as keyof typeof v];
      if (value !== undefined) tuning[option] = value;
    }
    /** The SDK WorkerOptions the variables set; unset ones are absent. */
    return { tuning };
  },
);

export type WorkerConfig = { tuning: WorkerTuningOverrides };
