// Schedules, run by the server itself as the official one does in its scheduler workflow
// (service/worker/scheduler): each schedule wakes on the clock at its next action time, takes the
// actions its spec, policies and state allow, starts workflows with `<workflowId>-<nominal time>`, and
// follows the runs it started (overlap policies, pause on failure, last completion result). Virtual time
// moves schedules too: their wake-ups are ordinary clock timers.
import type { TimerHandle } from './clock.ts';
import type { Engine } from './engine.ts';
import { alreadyExists, invalidArgument, notFound } from './errors.ts';
import type { Obj, Payload, Run } from './model.ts';
import { durMs, ts, tsMs } from './model.ts';
import { ExecStatus } from './proto.ts';
import {
  BACKFILL_PAUSE_MS,
  BACKFILLS_PER_ITERATION,
  type BufferedStart,
  catchupWindowMs,
  decideBuffer,
  FUTURE_ACTIONS,
  LIST_ACTIONS,
  MAX_BUFFER,
  Overlap,
  RECENT_ACTIONS,
  RETENTION_MS,
  resolveOverlap,
  scheduledWorkflowId,
} from './schedule-policy.ts';
import { type CompiledSpec, compileSpec, matchingTimes, nextTime, SpecError } from './schedule-spec.ts';
import { memoryScheduleStore, type ScheduleStore } from './schedule-store.ts';
import { decodePayload, validateSearchAttributes, withTypeMetadata } from './search-attributes.ts';
import type { VisibilityRecord } from './visibility/types.ts';
import { startWorkflow } from './workflow-service.ts';

export interface RecentAction {
  scheduleTime: number;
  actualTime: number;
  workflowId: string;
  runId: string;
  status: number;
}

/** Everything a schedule is, as plain data (persisted by the ScheduleStore). */
export interface ScheduleRecord {
  namespace: string;
  scheduleId: string;
  /** temporal.api.schedule.v1.Schedule with the canonical spec and resolved policies. */
  schedule: Obj;
  memo?: Record<string, Payload>;
  searchAttributes?: Record<string, Payload>;
  info: {
    actionCount: number;
    missedCatchupWindow: number;
    overlapSkipped: number;
    bufferDropped: number;
    running: Array<{ workflowId: string; runId: string }>;
    recent: RecentAction[];
    createTime: number;
    updateTime: number;
  };
  lastProcessed: number;
  conflictToken: number;
  buffer: BufferedStart[];
  /** Backfill requests still being worked through, a few starts per iteration: (start, end]. */
  backfills?: Array<{ start: number; end: number; overlap: number }>;
  lastCompletionResult?: Obj;
  continuedFailure?: Obj;
}

const encodeToken = (n: number): Buffer => Buffer.from(String(n));
const decodeToken = (b: Uint8Array | undefined): number =>
  b?.length ? Number(Buffer.from(b).toString()) : 0;

function jsonPayload(value: unknown, type: string): Payload {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
    data: Buffer.from(JSON.stringify(value)),
  };
}

export class Schedules {
  private readonly engine: Engine;
  private readonly store: ScheduleStore;
  private readonly records = new Map<string, ScheduleRecord>();
  private readonly compiled = new Map<string, CompiledSpec | null>();
  private readonly timers = new Map<string, TimerHandle>();

  constructor(engine: Engine, store: ScheduleStore = memoryScheduleStore()) {
    this.engine = engine;
    this.store = store;
    for (const r of store.load()) {
      this.records.set(this.key(r.namespace, r.scheduleId), r);
      this.recompile(r);
    }
    engine.closeListeners.add((run, attrs) => this.runClosed(run, attrs));
    // After a restart: catch up on what was due meanwhile (runs that closed meanwhile are found then).
    for (const r of this.records.values()) this.wake(r);
  }

  /**
   * A run closed: when it ends a chain one of our schedules started, record how, and take what the
   * schedule buffered. Deferred to a microtask: the engine is still closing the run, and a microtask runs
   * before time skipping can move the clock.
   */
  private runClosed(run: Run, attrs: Obj): void {
    if (run.nextRunId) return; // the chain goes on (retry, continue-as-new, cron)
    for (const r of this.records.values()) {
      if (r.namespace !== run.ns) continue;
      const i = r.info.running.findIndex(
        (w) => w.workflowId === run.workflowId && w.runId === run.firstRunId,
      );
      if (i < 0) continue;
      const [w] = r.info.running.splice(i, 1);
      this.closed(r, w!, run, attrs);
      queueMicrotask(() => this.wake(r));
    }
  }

  private key(ns: string, id: string): string {
    return `${ns}\u0000${id}`;
  }

  private now(): number {
    return this.engine.clock.now();
  }

  private seed(r: ScheduleRecord): string {
    return `${this.engine.namespace(r.namespace).id}-${r.scheduleId}`;
  }

  private recompile(r: ScheduleRecord): void {
    try {
      this.compiled.set(this.key(r.namespace, r.scheduleId), compileSpec(r.schedule.spec));
    } catch {
      this.compiled.set(this.key(r.namespace, r.scheduleId), null);
    }
  }

  private spec(r: ScheduleRecord): CompiledSpec | null {
    return this.compiled.get(this.key(r.namespace, r.scheduleId)) ?? null;
  }

  get(ns: string, id: string): ScheduleRecord {
    const r = this.records.get(this.key(ns, id));
    if (!r) throw notFound('schedule not found');
    return r;
  }

  list(ns: string): ScheduleRecord[] {
    return [...this.records.values()].filter((r) => r.namespace === ns);
  }

  // ---- RPC operations ---------------------------------------------------------------------

  create(req: Obj): Obj {
    const ns: string = req.namespace;
    const id: string = req.scheduleId ?? '';
    if (!id) throw invalidArgument('ScheduleId is not set on request.');
    if (!req.requestId) throw invalidArgument('RequestId is not set on request.');
    const existing = this.records.get(this.key(ns, id));
    if (existing) {
      throw alreadyExists(`schedule with id ${id} is already registered in namespace ${ns}`);
    }
    const schedule = this.validated(ns, req.schedule ?? {});
    validateSearchAttributes(this.engine.namespace(ns), req.searchAttributes?.indexedFields);
    const now = this.now();
    const r: ScheduleRecord = {
      namespace: ns,
      scheduleId: id,
      schedule,
      ...(req.memo?.fields ? { memo: req.memo.fields } : {}),
      ...(req.searchAttributes?.indexedFields
        ? { searchAttributes: req.searchAttributes.indexedFields }
        : {}),
      info: {
        actionCount: 0,
        missedCatchupWindow: 0,
        overlapSkipped: 0,
        bufferDropped: 0,
        running: [],
        recent: [],
        createTime: now,
        updateTime: 0,
      },
      lastProcessed: now,
      conflictToken: 1,
      buffer: [],
    };
    this.records.set(this.key(ns, id), r);
    this.recompile(r);
    if (req.initialPatch) this.applyPatch(r, req.initialPatch);
    this.wake(r);
    return { conflictToken: encodeToken(r.conflictToken) };
  }

  describe(ns: string, id: string): Obj {
    const r = this.get(ns, id);
    return {
      schedule: r.schedule,
      info: {
        actionCount: r.info.actionCount,
        missedCatchupWindow: r.info.missedCatchupWindow,
        overlapSkipped: r.info.overlapSkipped,
        bufferDropped: r.info.bufferDropped,
        bufferSize: r.buffer.length,
        runningWorkflows: r.info.running.map((w) => ({ workflowId: w.workflowId, runId: w.runId })),
        recentActions: r.info.recent.map(actionResult),
        futureActionTimes: this.futureTimes(r, FUTURE_ACTIONS).map(ts),
        createTime: ts(r.info.createTime),
        ...(r.info.updateTime ? { updateTime: ts(r.info.updateTime) } : {}),
      },
      ...(r.memo ? { memo: { fields: r.memo } } : {}),
      searchAttributes: { indexedFields: this.visibleAttributes(r) },
      conflictToken: encodeToken(r.conflictToken),
    };
  }

  update(req: Obj): void {
    const r = this.get(req.namespace, req.scheduleId);
    const schedule = this.validated(r.namespace, req.schedule ?? {});
    // As the server: a conflict token from an older describe makes the update a no-op.
    const token = decodeToken(req.conflictToken);
    if (token !== 0 && token !== r.conflictToken) {
      this.engine.log.warn(
        `temporal-dev: schedule ${r.scheduleId}: update with a stale conflict token ignored`,
      );
      return;
    }
    if (req.searchAttributes?.indexedFields) {
      validateSearchAttributes(this.engine.namespace(r.namespace), req.searchAttributes.indexedFields);
    }
    this.change(r, () => {
      r.schedule = schedule;
      if (req.searchAttributes) r.searchAttributes = req.searchAttributes.indexedFields ?? {};
      if (req.memo) r.memo = req.memo.fields ?? {};
      this.recompile(r);
      r.info.updateTime = this.now();
      r.conflictToken++;
    });
  }

  patch(req: Obj): void {
    const r = this.get(req.namespace, req.scheduleId);
    this.change(r, () => this.applyPatch(r, req.patch ?? {}));
  }

  delete(ns: string, id: string): void {
    const r = this.get(ns, id);
    this.engine.clock.cancel(this.timers.get(this.key(ns, id)));
    this.timers.delete(this.key(ns, id));
    this.records.delete(this.key(ns, id));
    this.compiled.delete(this.key(ns, id));
    this.store.remove(r.namespace, r.scheduleId);
  }

  matchingTimes(ns: string, id: string, start: Obj | undefined, end: Obj | undefined): number[] {
    const r = this.get(ns, id);
    if (!start || !end) throw invalidArgument('missing or invalid query');
    const cs = this.spec(r);
    if (!cs) throw invalidArgument('invalid schedule');
    return matchingTimes(cs, this.seed(r), tsMs(start), tsMs(end));
  }

  listInfo(r: ScheduleRecord): Obj {
    const { timezoneData: _drop, ...spec } = r.schedule.spec ?? {};
    return {
      spec,
      workflowType: r.schedule.action?.startWorkflow?.workflowType,
      notes: r.schedule.state?.notes ?? '',
      paused: !!r.schedule.state?.paused,
      recentActions: r.info.recent.slice(-LIST_ACTIONS).map(actionResult),
      futureActionTimes: this.futureTimes(r, LIST_ACTIONS).map(ts),
    };
  }

  /** Search attributes of the schedule's visibility entry: its own plus TemporalSchedulePaused. */
  visibleAttributes(r: ScheduleRecord): Record<string, Payload> {
    return withTypeMetadata(this.engine.namespace(r.namespace), {
      ...(r.searchAttributes ?? {}),
      TemporalSchedulePaused: jsonPayload(!!r.schedule.state?.paused, 'Bool'),
    });
  }

  /**
   * The schedule as visibility sees it: the server's scheduler workflow (`temporal-sys-scheduler:<id>`,
   * TemporalNamespaceDivision = TemporalScheduler, running), its ScheduleId, TemporalSchedulePaused and its
   * own search attributes.
   */
  visibilityRecord(r: ScheduleRecord): VisibilityRecord {
    const sa: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(this.visibleAttributes(r))) sa[k] = decodePayload(p);
    sa.ScheduleId = r.scheduleId;
    sa.TemporalNamespaceDivision = 'TemporalScheduler';
    return {
      WorkflowId: `temporal-sys-scheduler:${r.scheduleId}`,
      WorkflowType: 'temporal-sys-scheduler-workflow',
      RunId: '',
      ExecutionStatus: 'Running',
      StartTime: new Date(r.info.createTime),
      ExecutionTime: new Date(r.info.createTime),
      TaskQueue: 'temporal-sys-scheduler-tq',
      searchAttributes: sa,
    };
  }

  visibilityRecords(ns: string): VisibilityRecord[] {
    return this.list(ns).map((r) => this.visibilityRecord(r));
  }

  // ---- validation -------------------------------------------------------------------------

  /** The frontend's checks, then the canonical spec and resolved policies the server stores. */
  private validated(ns: string, schedule: Obj): Obj {
    const sw = schedule.action?.startWorkflow;
    if (!sw) throw invalidArgument('schedule action is required: only startWorkflow is supported');
    if (!sw.workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (!sw.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
    if (!sw.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    if (sw.cronSchedule) throw invalidArgument('Scheduled workflow must not contain CronSchedule');
    if (sw.workflowIdReusePolicy && sw.workflowIdReusePolicy !== 1)
      throw invalidArgument('Scheduled workflow must not contain WorkflowIDReusePolicy');
    validateSearchAttributes(this.engine.namespace(ns), sw.searchAttributes?.indexedFields);
    let spec: Obj;
    try {
      spec = compileSpec(schedule.spec ?? {}).canonical;
    } catch (err) {
      if (err instanceof SpecError) throw invalidArgument(err.message);
      throw err;
    }
    const policies = schedule.policies ?? {};
    return {
      spec,
      action: schedule.action,
      policies: {
        ...policies,
        overlapPolicy: resolveOverlap(policies.overlapPolicy, undefined),
        catchupWindow: ts(catchupWindowMs(durMs(policies.catchupWindow))),
      },
      state: { ...(schedule.state ?? {}) },
    };
  }

  // ---- the scheduler loop -----------------------------------------------------------------

  /** Takes what was due under the old state, applies the change, then runs and re-arms. */
  private change(r: ScheduleRecord, fn: () => void): void {
    this.advance(r);
    fn();
    this.wake(r);
  }

  private applyPatch(r: ScheduleRecord, patch: Obj): void {
    const now = this.now();
    if (patch.triggerImmediately) {
      const at = tsMs(patch.triggerImmediately.scheduledTime) || now;
      this.addStart(r, at, at, patch.triggerImmediately.overlapPolicy ?? 0, true);
    }
    for (const b of patch.backfillRequest ?? []) {
      // As the server: worked through incrementally (wake), start time inclusive.
      r.backfills ??= [];
      if (r.backfills.length >= MAX_BUFFER) {
        r.info.bufferDropped++;
        continue;
      }
      r.backfills.push({ start: tsMs(b.startTime) - 1, end: tsMs(b.endTime), overlap: b.overlapPolicy ?? 0 });
    }
    const state: Obj = r.schedule.state;
    if (patch.pause) {
      state.paused = true;
      state.notes = patch.pause;
      r.conflictToken++;
    }
    if (patch.unpause) {
      state.paused = false;
      state.notes = patch.unpause;
      r.conflictToken++;
    }
  }

  private canTake(r: ScheduleRecord, manual: boolean, decrement: boolean): boolean {
    if (manual) return true;
    const st = r.schedule.state ?? {};
    if (st.paused) return false;
    if (!st.limitedActions) return true;
    if (Number(st.remainingActions ?? 0) > 0) {
      if (decrement) {
        st.remainingActions = Number(st.remainingActions) - 1;
        r.conflictToken++;
      }
      return true;
    }
    return false;
  }

  /**
   * Adds the starts due in (start, end]; returns the next action time after `end`, or with a `limit`
   * that runs out, the last time added.
   */
  private processRange(
    r: ScheduleRecord,
    start: number,
    end: number,
    overlap: number,
    manual: boolean,
    limit?: { n: number },
  ): number | null {
    const cs = this.spec(r);
    if (!cs) return null;
    const seed = this.seed(r);
    if (!this.canTake(r, manual, false)) return nextTime(cs, seed, end)?.next ?? null;
    const window = catchupWindowMs(durMs(r.schedule.policies?.catchupWindow));
    let next = nextTime(cs, seed, start);
    for (; next && next.next <= end; next = nextTime(cs, seed, next.next)) {
      if (!manual && r.info.updateTime > next.next) continue;
      if (!manual && end - next.next > window) {
        r.info.missedCatchupWindow++;
        continue;
      }
      this.addStart(r, next.nominal, next.next, overlap, manual);
      if (limit && --limit.n <= 0) break;
    }
    return next?.next ?? null;
  }

  /** Takes the next few backfilled starts, into at most half the buffer (the server's pacing). */
  private processBackfills(r: ScheduleRecord): void {
    const limit = { n: BACKFILLS_PER_ITERATION };
    const todo = r.backfills ?? [];
    while (todo.length > 0 && limit.n > 0 && r.buffer.length < MAX_BUFFER / 2) {
      const b = todo[0]!;
      const next = this.processRange(r, b.start, b.end, b.overlap, true, limit);
      if (next === null || next > b.end || next <= b.start) todo.shift();
      else b.start = next;
    }
    if (todo.length === 0) delete r.backfills;
  }

  private moreAllowAllBackfills(r: ScheduleRecord): boolean {
    const b = r.backfills?.[0];
    return !!b && resolveOverlap(b.overlap, r.schedule.policies?.overlapPolicy) === Overlap.ALLOW_ALL;
  }

  /**
   * When a schedule with nothing left to do (not paused, no next action it may take, no allow-all
   * backfill pending) goes away: its retention after its last event, as the server's scheduler
   * workflow returns then. Null while it has something to do.
   */
  private retentionExpiry(r: ScheduleRecord, next: number | null): number | null {
    if (r.schedule.state?.paused) return null;
    if (next !== null && this.canTake(r, false, false)) return null;
    if (this.moreAllowAllBackfills(r)) return null;
    const lastAction = r.info.recent.at(-1)?.actualTime ?? 0;
    return Math.max(lastAction, r.info.createTime, r.info.updateTime) + RETENTION_MS;
  }

  private addStart(
    r: ScheduleRecord,
    nominal: number,
    actual: number,
    overlap: number,
    manual: boolean,
  ): void {
    if (r.buffer.length >= MAX_BUFFER) {
      r.info.bufferDropped++;
      return;
    }
    r.buffer.push({ nominal, actual, overlap, manual });
  }

  /** Processes time up to now; returns the next wake-up (null: none). */
  private advance(r: ScheduleRecord): number | null {
    const now = Math.max(this.now(), r.lastProcessed);
    const next = this.processRange(r, r.lastProcessed, now, 0, false);
    r.lastProcessed = now;
    return next;
  }

  /** One iteration: due starts, buffer, persistence, next timer. */
  private wake(r: ScheduleRecord): void {
    const k = this.key(r.namespace, r.scheduleId);
    if (this.records.get(k) !== r) return; // deleted meanwhile
    const next = this.advance(r);
    this.processBackfills(r);
    for (let i = 0; i < 100 && this.processBuffer(r); i++) {}
    const expiry = this.retentionExpiry(r, next);
    if (expiry !== null && expiry <= this.now()) {
      this.engine.log.info(`temporal-dev: schedule ${r.scheduleId} has nothing left to do: removed`);
      this.delete(r.namespace, r.scheduleId);
      return;
    }
    this.store.save(r);
    this.engine.clock.cancel(this.timers.get(k));
    this.timers.delete(k);
    // Paused or out of actions: no timer until something changes (as the server's SleepWhilePaused),
    // but for the end of its retention; an allow-all backfill goes on a second later.
    let at: number | null = null;
    if (this.moreAllowAllBackfills(r)) at = this.now() + BACKFILL_PAUSE_MS;
    else if (next !== null && this.canTake(r, false, false)) at = next;
    if (expiry !== null) at = expiry;
    if (at !== null) {
      this.timers.set(
        k,
        this.engine.clock.schedule(at, () => this.wake(r)),
      );
    }
  }

  /** Takes buffered starts as the overlap policies allow; true when it should run again. */
  private processBuffer(r: ScheduleRecord): boolean {
    this.refreshRunning(r);
    const action = r.schedule.action?.startWorkflow;
    if (!action || r.buffer.length === 0) {
      r.buffer = [];
      return false;
    }
    const isRunning = r.info.running.length > 0;
    const d = decideBuffer(r.buffer, isRunning, (p) => resolveOverlap(p, r.schedule.policies?.overlapPolicy));
    r.buffer = d.buffer;
    r.info.overlapSkipped += d.skipped;
    let again = false;
    const starts = [...d.overlapping, ...(d.nonOverlapping ? [d.nonOverlapping] : [])];
    for (const s of starts) {
      if (!this.canTake(r, s.manual, true)) {
        again = true;
        continue;
      }
      const started = this.start(r, s, action);
      if (!started) {
        again = true;
        continue;
      }
      r.info.actionCount++;
      r.info.recent = [...r.info.recent, started].slice(-RECENT_ACTIONS);
      if (s === d.nonOverlapping) {
        r.info.running.push({ workflowId: started.workflowId, runId: started.runId });
      }
    }
    if (d.terminateRunning || d.cancelRunning) {
      for (const w of r.info.running) {
        const run = this.chain(r.namespace, w);
        if (!run || run.status !== ExecStatus.RUNNING) continue;
        const identity = `temporal-scheduler-${r.namespace}-${r.scheduleId}`;
        if (d.terminateRunning)
          this.engine.terminate(run, 'terminated by schedule overlap policy', undefined, identity);
        else this.engine.requestCancel(run, 'cancelled by schedule overlap policy', identity);
      }
    }
    return again;
  }

  private start(r: ScheduleRecord, s: BufferedStart, action: Obj): RecentAction | null {
    const workflowId = scheduledWorkflowId(action.workflowId, s.nominal);
    const nominalSec = Math.floor(s.nominal / 1000) * 1000;
    const req: Obj = {
      namespace: r.namespace,
      workflowId,
      workflowType: action.workflowType,
      taskQueue: action.taskQueue,
      input: action.input,
      workflowExecutionTimeout: action.workflowExecutionTimeout,
      workflowRunTimeout: action.workflowRunTimeout,
      workflowTaskTimeout: action.workflowTaskTimeout,
      identity: `temporal-scheduler-${r.namespace}-${r.scheduleId}`,
      requestId: `${r.scheduleId}/${nominalSec}/${r.info.actionCount}`,
      // Manual starts (trigger, backfill) may reuse an id; scheduled ones never start the same time twice.
      workflowIdReusePolicy: s.manual ? 1 : 3,
      retryPolicy: action.retryPolicy,
      memo: action.memo,
      header: action.header,
      searchAttributes: {
        indexedFields: {
          ...(action.searchAttributes?.indexedFields ?? {}),
          TemporalScheduledStartTime: jsonPayload(new Date(nominalSec).toISOString(), 'Datetime'),
          TemporalScheduledById: jsonPayload(r.scheduleId, 'Keyword'),
        },
      },
      ...(s.overlap === Overlap.ALLOW_ALL
        ? {}
        : { lastCompletionResult: r.lastCompletionResult, continuedFailure: r.continuedFailure }),
    };
    try {
      const res = startWorkflow(this.engine, req);
      if (!res.started) throw alreadyExists(`workflow ${workflowId} is already running`);
      return {
        scheduleTime: s.actual,
        actualTime: this.now(),
        workflowId,
        runId: res.runId,
        status: ExecStatus.RUNNING,
      };
    } catch (err) {
      this.engine.log.warn(
        `temporal-dev: schedule ${r.scheduleId}: failed to start ${workflowId}: ${(err as Error).message}`,
      );
      return null;
    }
  }

  // ---- following started runs ---------------------------------------------------------------

  /** The latest run of the chain (retries, continue-as-new) begun by `w`, if it is still current. */
  private chain(ns: string, w: { workflowId: string; runId: string }): Run | undefined {
    const cur = this.engine.current.get(this.engine.key(ns, w.workflowId));
    if (cur && cur.firstRunId === w.runId) return cur;
    return this.engine.runs.get(w.runId);
  }

  private refreshRunning(r: ScheduleRecord): void {
    const still: ScheduleRecord['info']['running'] = [];
    for (const w of r.info.running) {
      const run = this.chain(r.namespace, w);
      if (run && run.status === ExecStatus.RUNNING) still.push(w);
      else this.closed(r, w, run);
    }
    r.info.running = still;
  }

  /**
   * A run the schedule started has closed: its status, pause on failure, the result the next run sees
   * (`attrs`: its close event's attributes, when known).
   */
  private closed(
    r: ScheduleRecord,
    w: { workflowId: string; runId: string },
    run: Run | undefined,
    attrs: Obj = {},
  ): void {
    const status = run?.status ?? ExecStatus.TERMINATED;
    const recent = r.info.recent.find((a) => a.workflowId === w.workflowId && a.runId === w.runId);
    if (recent) recent.status = status;
    const failed = status === ExecStatus.FAILED || status === ExecStatus.TIMED_OUT;
    const st: Obj = r.schedule.state;
    if (r.schedule.policies?.pauseOnFailure && failed && !st.paused) {
      st.paused = true;
      st.notes =
        status === ExecStatus.FAILED
          ? `paused due to workflow failure: ${w.workflowId}: ${attrs.failure?.message ?? ''}`
          : `paused due to workflow timeout: ${w.workflowId}`;
      r.conflictToken++;
    }
    if (status === ExecStatus.COMPLETED && attrs.result) {
      r.lastCompletionResult = attrs.result;
      r.continuedFailure = undefined;
    } else if (status === ExecStatus.FAILED && attrs.failure) {
      r.continuedFailure = attrs.failure;
    }
    if (r.buffer.length > 0 && run?.closeTime) r.buffer[0]!.desired = run.closeTime;
  }

  private futureTimes(r: ScheduleRecord, n: number): number[] {
    const cs = this.spec(r);
    if (!cs) return [];
    const st = r.schedule.state ?? {};
    if (st.limitedActions) n = Math.min(n, Number(st.remainingActions ?? 0));
    const out: number[] = [];
    let t = r.lastProcessed;
    while (out.length < n) {
      const next = nextTime(cs, this.seed(r), t);
      if (!next) break;
      t = next.next;
      if (r.info.updateTime > t) continue;
      out.push(t);
    }
    return out;
  }
}

function actionResult(a: RecentAction): Obj {
  return {
    scheduleTime: ts(a.scheduleTime),
    actualTime: ts(a.actualTime),
    startWorkflowResult: { workflowId: a.workflowId, runId: a.runId },
    startWorkflowStatus: a.status,
  };
}
