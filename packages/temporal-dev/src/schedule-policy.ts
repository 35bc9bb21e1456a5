// Schedule policies as the official scheduler applies them: overlap policy of buffered starts, catch-up
// window, remaining actions. Pure decisions; schedules.ts carries them out.

/** temporal.api.enums.v1.ScheduleOverlapPolicy */
export const Overlap = {
  UNSPECIFIED: 0,
  SKIP: 1,
  BUFFER_ONE: 2,
  BUFFER_ALL: 3,
  CANCEL_OTHER: 4,
  TERMINATE_OTHER: 5,
  ALLOW_ALL: 6,
} as const;

export const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3600 * 1000;
export const MIN_CATCHUP_WINDOW_MS = 10_000;
/** Recent actions kept for describe, and how many of them / of the future times a list entry shows. */
export const RECENT_ACTIONS = 10;
export const FUTURE_ACTIONS = 10;
export const LIST_ACTIONS = 5;
export const MAX_BUFFER = 1000;
/** Backfilled starts added per iteration (half the buffer at most), one iteration a second. */
export const BACKFILLS_PER_ITERATION = 10;
export const BACKFILL_PAUSE_MS = 1000;
/** How long a schedule with nothing left to do stays after its last event (then it is gone). */
export const RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface BufferedStart {
  nominal: number;
  actual: number;
  overlap: number;
  manual: boolean;
  /** When the start may happen at the earliest (set to the close time of the run it waited for). */
  desired?: number;
}

/** Unset (0) catch-up window = one year; below 10 s it is raised to 10 s. */
export function catchupWindowMs(configured: number | undefined): number {
  if (!configured) return DEFAULT_CATCHUP_WINDOW_MS;
  return Math.max(configured, MIN_CATCHUP_WINDOW_MS);
}

/** A start's own overlap policy, else the schedule's, else SKIP. */
export function resolveOverlap(own: number | undefined, schedule: number | undefined): number {
  return own || schedule || Overlap.SKIP;
}

export interface BufferDecision {
  /** ALLOW_ALL starts: started whatever runs. */
  overlapping: BufferedStart[];
  /** The one start that may run now (nothing of this schedule is running). */
  nonOverlapping: BufferedStart | null;
  buffer: BufferedStart[];
  cancelRunning: boolean;
  terminateRunning: boolean;
  skipped: number;
}

/**
 * What to do with the buffered starts given whether a run of this schedule is still open: the first start
 * runs when nothing does; the others are skipped, buffered (one or all), or buffered while the running
 * workflow is cancelled or terminated; ALLOW_ALL starts always run.
 */
export function decideBuffer(
  buffer: BufferedStart[],
  isRunning: boolean,
  resolve: (p: number) => number,
): BufferDecision {
  const d: BufferDecision = {
    overlapping: [],
    nonOverlapping: null,
    buffer: [],
    cancelRunning: false,
    terminateRunning: false,
    skipped: 0,
  };
  for (const start of buffer) {
    const policy = resolve(start.overlap);
    if (policy === Overlap.ALLOW_ALL) {
      d.overlapping.push(start);
      continue;
    }
    if (!isRunning && d.nonOverlapping === null) {
      d.nonOverlapping = start;
      continue;
    }
    switch (policy) {
      case Overlap.BUFFER_ONE:
        if (d.buffer.length === 0) d.buffer.push(start);
        else d.skipped++;
        break;
      case Overlap.BUFFER_ALL:
        d.buffer.push(start);
        break;
      case Overlap.CANCEL_OTHER:
      case Overlap.TERMINATE_OTHER:
        if (isRunning) {
          if (policy === Overlap.CANCEL_OTHER) d.cancelRunning = true;
          else d.terminateRunning = true;
          d.buffer.push(start);
        } else {
          // A later start replaces the one chosen before it: only the newest runs.
          d.nonOverlapping = start;
        }
        break;
      default:
        d.skipped++;
    }
  }
  if (d.cancelRunning || d.terminateRunning) d.overlapping = [];
  return d;
}

/** Workflow id of a scheduled start: the action's id plus the nominal time, to the second, in RFC 3339. */
export function scheduledWorkflowId(base: string, nominal: number): string {
  return `${base}-${new Date(Math.floor(nominal / 1000) * 1000).toISOString().replace('.000Z', 'Z')}`;
}
