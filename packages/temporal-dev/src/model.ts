// In-memory shapes of the server's state. Everything here is plain data so it can be persisted
// (sqlite-store.ts writes a run as one row, its events as rows of their own).

export type Payload = { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages are dynamic; handlers read fields by name
export type Obj = Record<string, any>;

export interface WorkflowTaskState {
  scheduledEventId: number;
  startedEventId: number; // 0 while scheduled
  attempt: number;
  onSticky: boolean;
  scheduledTime: number;
  startedTime: number;
  /** Update ids delivered with this task (re-delivered if the task fails). */
  deliveredUpdates: string[];
}

export interface ActivityState {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  input?: Obj;
  header?: Obj;
  retryPolicy: Obj;
  scheduleToCloseMs: number; // 0 = unlimited
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  firstScheduledTime: number;
  scheduledTime: number;
  attempt: number;
  state: 'scheduled' | 'started' | 'backoff';
  startedTime: number;
  startedIdentity: string;
  heartbeatDetails?: Obj;
  lastHeartbeatTime: number;
  cancelRequested: boolean;
  cancelRequestedEventId: number;
  lastFailure?: Obj;
  /**
   * Time-skipping mode: virtual time a test-service sleep skipped while this activity was in flight,
   * which its deadlines do not count (clock.ts), in all and as it stood at each deadline's start.
   */
  skippedMs?: number;
  skippedAt?: { scheduled: number; started: number; beat: number };
  /** PauseActivity: no attempt is dispatched until unpaused; a running one hears it at its heartbeat. */
  paused?: { time: number; identity: string; reason: string };
  /** ResetActivity on a running attempt: it hears it at its heartbeat; the next attempt is 1, at once. */
  reset?: { heartbeat: boolean };
}

export interface ChildRef {
  initiatedEventId: number;
  startedEventId: number;
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  parentClosePolicy: number;
}

export interface UpdateState {
  updateId: string;
  request: Obj; // temporal.api.update.v1.Request
  stage: 'admitted' | 'accepted' | 'completed';
  acceptedEventId: number;
  outcome?: Obj;
  delivered: boolean;
}

export interface Run {
  ns: string;
  workflowId: string;
  runId: string;
  firstRunId: string;
  workflowType: string;
  taskQueue: string;
  status: number;
  /** Id of the last event; the events themselves are in the run's event log (history.ts). */
  historyLength: number;
  /**
   * The last events, held in memory (not part of the stored row): those not committed yet and, while
   * the run is busy (a workflow task or an activity pending), the recent committed ones its next task
   * will read. An idle run holds none.
   */
  tail: Obj[];
  /** Id of the last event committed to the event log. */
  savedEventId: number;
  startTime: number;
  executionTime: number;
  closeTime: number;
  memo: Record<string, Payload>;
  searchAttributes: Record<string, Payload>;
  taskTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  executionExpiration: number; // 0 = none
  retryPolicy?: Obj;
  attempt: number;
  cronSchedule: string;
  parent?: { ns: string; workflowId: string; runId: string; initiatedEventId: number };
  requestIds: string[];
  /** Workflow tasks are held until the start delay / retry backoff has elapsed. */
  firstWftAt: number;
  wft: WorkflowTaskState | null;
  wftRequested: boolean;
  buffered: Obj[];
  previousStartedEventId: number;
  sticky: { queue: string; scheduleToStartMs: number } | null;
  activities: Map<number, ActivityState>;
  timers: Map<string, number>; // timerId -> startedEventId
  children: Map<number, ChildRef>;
  updates: Map<string, UpdateState>;
  cancelRequested: boolean;
  nextRunId: string; // set when closed into a follow-up run (continue-as-new, retry, cron)
}

export interface TaskToken {
  ns: string;
  runId: string;
  kind: 'wft' | 'act' | 'query';
  id: number; // scheduled event id, or query id
  attempt: number;
}

export function encodeToken(t: TaskToken): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeToken(buf: Uint8Array | undefined): TaskToken | null {
  if (!buf || buf.length === 0) return null;
  try {
    const t = JSON.parse(Buffer.from(buf).toString('utf8')) as TaskToken;
    return typeof t.runId === 'string' ? t : null;
  } catch {
    return null;
  }
}

export function ts(ms: number): { seconds: number; nanos: number } {
  const s = Math.floor(ms / 1000);
  return { seconds: s, nanos: Math.round((ms - s * 1000) * 1e6) };
}

export function tsMs(t: { seconds?: number | string; nanos?: number } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export const dur = ts;
export const durMs = tsMs;

export function failureMessage(f: Obj | undefined): string {
  return f?.message ?? '';
}
