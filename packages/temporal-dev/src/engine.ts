// The execution engine: runs (mutable state + history), workflow task lifecycle, matching and
// run lifecycle (start, signal, cancel, terminate, close). Commands, activities, updates and
// queries live in sibling modules that operate on this class.
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from './clock.ts';
import { continueCron } from './cron.ts';
import { alreadyExists, invalidArgument, namespaceNotFound, notFound } from './errors.ts';
import { append, attachLog, events, flushBuffered, isWftStarted, makeEvent } from './history.ts';
import { historyStats } from './history-size.ts';
import type { ActivityState, Obj, Payload, Run } from './model.ts';
import { dur, durMs, encodeToken, ts, tsMs } from './model.ts';
import {
  EventType,
  ExecStatus,
  IdConflictPolicy,
  IdReusePolicy,
  ParentClosePolicy,
  packAny,
  RetryState,
  TaskQueueKind,
} from './proto.ts';
import { SqliteStore } from './sqlite-store.ts';
import { TaskQueue } from './task-queue.ts';
import { abortUpdates } from './updates.ts';

export type WfTicket =
  | { kind: 'wft'; run: Run; scheduledEventId: number; sticky: boolean }
  | { kind: 'query'; q: QueryTask };
export interface ActTicket {
  run: Run;
  scheduledEventId: number;
  attempt: number;
}
export interface QueryTask {
  id: number;
  run: Run;
  query: Obj;
  dispatched: boolean;
  done: boolean;
  /** Moves the query off a sticky queue nobody polls (cancelled once it is answered). */
  stickyFallback?: TimerHandle;
  finish(res: { answer?: Obj; error?: string }): void;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface NamespaceState {
  name: string;
  id: string;
  searchAttributes: Map<string, number>;
  /** What RegisterNamespace / UpdateNamespace set (namespace-service.ts); plain JSON. */
  info?: NamespaceInfo;
}

export interface NamespaceInfo {
  description?: string;
  ownerEmail?: string;
  data?: Record<string, string>;
  retentionMs?: number;
}

export interface StartParams {
  ns: string;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: Obj;
  header?: Obj;
  memo?: Record<string, Payload>;
  searchAttributes?: Record<string, Payload>;
  executionTimeoutMs: number;
  runTimeoutMs: number;
  taskTimeoutMs: number;
  retryPolicy?: Obj;
  attempt: number;
  firstRunId?: string;
  continuedExecutionRunId?: string;
  continuedFailure?: Obj;
  lastCompletionResult?: Obj;
  initiator?: number;
  parent?: Run['parent'];
  backoffMs: number;
  identity: string;
  requestId: string;
  executionExpiration?: number;
  cronSchedule?: string;
}

const DEFAULT_TASK_TIMEOUT_MS = 10_000;

export class Engine {
  readonly clock: Clock;
  readonly log: Logger;
  readonly runs = new Map<string, Run>();
  readonly current = new Map<string, Run>();
  /** How many runs each workflow id (key()) has in `runs`: forgetting its last one needs no scan. */
  private readonly runsOfId = new Map<string, number>();
  readonly namespaces = new Map<string, NamespaceState>();
  private readonly wfQueues = new Map<string, TaskQueue<WfTicket>>();
  private readonly actQueues = new Map<string, TaskQueue<ActTicket>>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly wftTimers = new Map<string, TimerHandle>();
  readonly actTimers = new WeakMap<ActivityState, TimerHandle>();
  private readonly runTimers = new Map<string, TimerHandle>();
  readonly pendingQueries = new Map<string, QueryTask[]>();
  readonly queries = new Map<number, QueryTask>();
  private readonly stickyRuns = new Map<string, Set<Run>>();
  /** Sticky queues (ns + name) whose worker called ShutdownWorker; names are unique per worker. */
  private readonly shutDownSticky = new Set<string>();
  private querySeq = 1;
  defaultSearchAttributes = new Map<string, number>();
  /** Told of every run that closes, with its close event's attributes (schedules follow their runs). */
  readonly closeListeners = new Set<(run: Run, attrs: Obj) => void>();
  /** Where state is committed (sqlite-store.ts): a file with --db-filename, else in memory. */
  readonly store: SqliteStore;

  constructor(clock: Clock, log: Logger, store?: SqliteStore) {
    this.clock = clock;
    this.log = log;
    this.store = store ?? new SqliteStore(undefined, log);
  }

  /** Marks the run for the next commit (before the RPC that changed it answers). */
  changed(run: Run): void {
    this.store.changed(run);
  }

  /** A namespace or its search attributes changed. */
  persistNamespaces(): void {
    for (const ns of this.namespaces.values()) this.store.saveNamespace(ns);
  }

  // ---- namespaces -------------------------------------------------------------------------
  /** A registered namespace; NamespaceNotFound otherwise, as the real server (none is created on use). */
  namespace(name: string): NamespaceState {
    if (!name) throw invalidArgument('namespace is required');
    const known = this.namespaces.get(name);
    if (!known) throw namespaceNotFound(name);
    return known;
  }

  /** Creates a namespace (server start, RegisterNamespace, loading saved state) or returns that one. */
  ensureNamespace(name: string): NamespaceState {
    if (!name) throw invalidArgument('namespace is required');
    let ns = this.namespaces.get(name);
    if (!ns) {
      ns = { name, id: randomUUID(), searchAttributes: new Map(this.defaultSearchAttributes) };
      this.namespaces.set(name, ns);
      this.store.saveNamespace(ns);
    }
    return ns;
  }

  // ---- lookup ------------------------------------------------------------------------------
  key(ns: string, workflowId: string): string {
    return `${ns}\u0000${workflowId}`;
  }

  findRun(ns: string, exec: Obj | undefined): Run {
    const workflowId = exec?.workflowId;
    if (!workflowId) throw invalidArgument('workflowExecution.workflowId is required');
    if (exec.runId) {
      const r = this.runs.get(exec.runId);
      if (!r || r.workflowId !== workflowId || r.ns !== ns) {
        throw notFound(`workflow execution not found: workflowId=${workflowId} runId=${exec.runId}`);
      }
      return r;
    }
    const r = this.current.get(this.key(ns, workflowId));
    if (!r) throw notFound(`workflow execution not found: workflowId=${workflowId}`);
    return r;
  }

  findOpenRun(ns: string, exec: Obj | undefined): Run {
    const r = this.findRun(ns, exec);
    if (r.status !== ExecStatus.RUNNING) throw notFound('workflow execution already completed');
    return r;
  }

  // ---- change notification (long polls) ----------------------------------------------------
  touch(run: Run): void {
    const ls = this.listeners.get(run.runId);
    if (ls) {
      this.listeners.delete(run.runId);
      for (const l of ls) l();
    }
    this.store.changed(run);
  }

  /** Resolves on the next change of the run or after timeoutMs. */
  waitChange(run: Run, timeoutMs: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.listeners.get(run.runId);
      if (!set) {
        set = new Set();
        this.listeners.set(run.runId, set);
      }
      const l = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.get(run.runId)?.delete(l);
        resolve();
      }, timeoutMs);
      set.add(l);
    });
  }

  // ---- queues ------------------------------------------------------------------------------
  wfQueue(ns: string, name: string): TaskQueue<WfTicket> {
    const k = `${ns}\u0000${name}`;
    let q = this.wfQueues.get(k);
    if (!q) {
      q = new TaskQueue();
      this.wfQueues.set(k, q);
    }
    return q;
  }

  actQueue(ns: string, name: string): TaskQueue<ActTicket> {
    const k = `${ns}\u0000${name}`;
    let q = this.actQueues.get(k);
    if (!q) {
      q = new TaskQueue();
      this.actQueues.set(k, q);
    }
    return q;
  }

  /** Set on shutdown: long polls answer at once instead of waiting. */
  stopping = false;

  releaseAllPolls(): void {
    this.stopping = true;
    for (const q of this.wfQueues.values()) q.releaseAll();
    for (const q of this.actQueues.values()) q.releaseAll();
    for (const set of this.listeners.values()) for (const l of set) l();
    this.listeners.clear();
  }

  // ---- starting runs -----------------------------------------------------------------------
  /** Applies id reuse / conflict policies; returns an existing run when the start is deduplicated. */
  checkStart(ns: string, workflowId: string, requestId: string, reuse: number, conflict: number): Run | null {
    const existing = this.current.get(this.key(ns, workflowId));
    if (!existing) return null;
    if (requestId && existing.requestIds.includes(requestId)) return existing;
    if (existing.status === ExecStatus.RUNNING) {
      if (conflict === IdConflictPolicy.USE_EXISTING) return existing;
      if (conflict === IdConflictPolicy.TERMINATE_EXISTING || reuse === IdReusePolicy.TERMINATE_IF_RUNNING) {
        this.terminate(existing, 'terminated by workflow id conflict policy', undefined, 'temporal-dev');
        return null;
      }
      throw alreadyExists(
        `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${existing.runId}.`,
      );
    }
    if (reuse === IdReusePolicy.REJECT_DUPLICATE) {
      throw alreadyExists(
        `Workflow execution already finished and WorkflowIdReusePolicy is REJECT_DUPLICATE. WorkflowId: ${workflowId}, RunId: ${existing.runId}.`,
      );
    }
    if (reuse === IdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY && existing.status === ExecStatus.COMPLETED) {
      throw alreadyExists(
        `Workflow execution already finished successfully and WorkflowIdReusePolicy is ALLOW_DUPLICATE_FAILED_ONLY. WorkflowId: ${workflowId}, RunId: ${existing.runId}.`,
      );
    }
    return null;
  }

  startRun(p: StartParams, extraEvents: (run: Run) => void = () => {}): Run {
    const now = this.clock.now();
    const runId = randomUUID();
    const taskTimeoutMs = p.taskTimeoutMs > 0 ? Math.min(p.taskTimeoutMs, 120_000) : DEFAULT_TASK_TIMEOUT_MS;
    const executionExpiration =
      p.executionExpiration ?? (p.executionTimeoutMs > 0 ? now + p.executionTimeoutMs : 0);
    const run: Run = {
      ns: p.ns,
      workflowId: p.workflowId,
      runId,
      firstRunId: p.firstRunId ?? runId,
      workflowType: p.workflowType,
      taskQueue: p.taskQueue,
      status: ExecStatus.RUNNING,
      historyLength: 0,
      tail: [],
      savedEventId: 0,
      startTime: now,
      executionTime: now + p.backoffMs,
      closeTime: 0,
      memo: { ...(p.memo ?? {}) },
      searchAttributes: { ...(p.searchAttributes ?? {}) },
      taskTimeoutMs,
      runTimeoutMs: p.runTimeoutMs,
      executionTimeoutMs: p.executionTimeoutMs,
      executionExpiration,
      retryPolicy: p.retryPolicy,
      attempt: p.attempt,
      cronSchedule: p.cronSchedule ?? '',
      parent: p.parent,
      requestIds: p.requestId ? [p.requestId] : [],
      firstWftAt: now + p.backoffMs,
      wft: null,
      wftRequested: false,
      buffered: [],
      previousStartedEventId: 0,
      sticky: null,
      activities: new Map(),
      timers: new Map(),
      children: new Map(),
      updates: new Map(),
      cancelRequested: false,
      nextRunId: '',
    };
    const parentRun = p.parent ? this.runs.get(p.parent.runId) : undefined;
    attachLog(run, this.store);
    append(
      run,
      makeEvent(this.clock, EventType.WORKFLOW_EXECUTION_STARTED, {
        workflowType: { name: p.workflowType },
        taskQueue: { name: p.taskQueue, kind: TaskQueueKind.NORMAL },
        input: p.input,
        header: p.header,
        workflowExecutionTimeout: p.executionTimeoutMs > 0 ? dur(p.executionTimeoutMs) : undefined,
        workflowRunTimeout: p.runTimeoutMs > 0 ? dur(p.runTimeoutMs) : undefined,
        workflowTaskTimeout: dur(taskTimeoutMs),
        continuedExecutionRunId: p.continuedExecutionRunId,
        initiator: p.initiator,
        continuedFailure: p.continuedFailure,
        lastCompletionResult: p.lastCompletionResult,
        originalExecutionRunId: runId,
        identity: p.identity,
        firstExecutionRunId: run.firstRunId,
        retryPolicy: p.retryPolicy,
        attempt: p.attempt,
        workflowExecutionExpirationTime: executionExpiration > 0 ? ts(executionExpiration) : undefined,
        cronSchedule: p.cronSchedule,
        firstWorkflowTaskBackoff: p.backoffMs > 0 ? dur(p.backoffMs) : undefined,
        memo: Object.keys(run.memo).length ? { fields: run.memo } : undefined,
        searchAttributes: Object.keys(run.searchAttributes).length
          ? { indexedFields: run.searchAttributes }
          : undefined,
        parentWorkflowNamespace: p.parent?.ns,
        parentWorkflowNamespaceId: p.parent ? this.namespace(p.parent.ns).id : undefined,
        parentWorkflowExecution: p.parent
          ? { workflowId: p.parent.workflowId, runId: p.parent.runId }
          : undefined,
        parentInitiatedEventId: p.parent?.initiatedEventId,
        workflowId: p.workflowId,
        rootWorkflowExecution: parentRun
          ? { workflowId: parentRun.workflowId, runId: parentRun.runId }
          : { workflowId: p.workflowId, runId },
      }),
    );
    this.addRun(run);
    this.current.set(this.key(p.ns, p.workflowId), run);
    extraEvents(run);
    this.armRunTimeout(run);
    if (p.backoffMs > 0) {
      this.clock.after(p.backoffMs, () => {
        // Unless an update already started it (updates.ts), as the real server's backoff timer task.
        if (run.status === ExecStatus.RUNNING && !run.wft && run.firstWftAt >= run.executionTime)
          this.scheduleWft(run, 1);
        this.touch(run);
      });
    } else {
      this.requestWft(run);
    }
    this.touch(run);
    return run;
  }

  armRunTimeout(run: Run): void {
    let deadline = run.runTimeoutMs > 0 ? run.startTime + run.runTimeoutMs : 0;
    if (run.executionExpiration > 0 && (deadline === 0 || run.executionExpiration < deadline)) {
      deadline = run.executionExpiration;
    }
    if (deadline === 0) return;
    this.runTimers.set(
      run.runId,
      this.clock.schedule(deadline, () => {
        if (run.status !== ExecStatus.RUNNING) return;
        flushBuffered(run);
        // cron (cron.ts): a run that timed out still hands over to the next one of its chain.
        const next = continueCron(this, run, {
          failure: { message: 'workflow timeout', timeoutFailureInfo: { timeoutType: 1 } },
        });
        this.closeRun(run, ExecStatus.TIMED_OUT, EventType.WORKFLOW_EXECUTION_TIMED_OUT, {
          retryState: RetryState.TIMEOUT,
          ...(next ? { newExecutionRunId: next } : {}),
        });
      }),
    );
  }

  // ---- workflow tasks ----------------------------------------------------------------------
  /** Something happened that the workflow must see. */
  requestWft(run: Run): void {
    if (run.status !== ExecStatus.RUNNING) return;
    if (run.wft) {
      if (run.wft.startedEventId > 0) run.wftRequested = true;
      return;
    }
    if (run.firstWftAt > this.clock.now()) return;
    this.scheduleWft(run, 1);
  }

  /** Appends an event from outside the workflow (signal, timer fired, activity result...). */
  addExternal(run: Run, type: number, attrs: Obj): void {
    const ev = makeEvent(this.clock, type, attrs);
    if (isWftStarted(run)) run.buffered.push(ev);
    else append(run, ev);
    this.requestWft(run);
  }

  scheduleWft(run: Run, attempt: number): void {
    const onSticky = run.sticky !== null;
    const queueName = onSticky ? run.sticky!.queue : run.taskQueue;
    const ev = append(
      run,
      makeEvent(this.clock, EventType.WORKFLOW_TASK_SCHEDULED, {
        taskQueue: {
          name: queueName,
          kind: onSticky ? TaskQueueKind.STICKY : TaskQueueKind.NORMAL,
          normalName: onSticky ? run.taskQueue : undefined,
        },
        startToCloseTimeout: dur(run.taskTimeoutMs),
        attempt,
      }),
    );
    run.wft = {
      scheduledEventId: ev.eventId,
      startedEventId: 0,
      attempt,
      onSticky,
      scheduledTime: this.clock.now(),
      startedTime: 0,
      deliveredUpdates: [],
    };
    run.wftRequested = false;
    this.clock.hold();
    this.enqueueWft(run);
  }

  enqueueWft(run: Run): void {
    const w = run.wft!;
    if (w.onSticky && run.sticky) {
      // The sticky worker may be gone: fall back to the normal queue after schedule-to-start.
      // Armed before the offer: a waiting poller claims the task inside offer() and arms the
      // start-to-close timer, which this one must not replace (a task lost with its worker would
      // then never time out, and the run and its queries would wait forever).
      this.setWftTimer(
        run,
        this.clock.after(run.sticky.scheduleToStartMs, () => {
          if (run.wft === w && w.startedEventId === 0 && w.onSticky) this.unstick(run);
        }),
      );
      this.wfQueue(run.ns, run.sticky.queue).offer({
        kind: 'wft',
        run,
        scheduledEventId: w.scheduledEventId,
        sticky: true,
      });
    } else {
      w.onSticky = false;
      this.wfQueue(run.ns, run.taskQueue).offer({
        kind: 'wft',
        run,
        scheduledEventId: w.scheduledEventId,
        sticky: false,
      });
    }
  }

  private setWftTimer(run: Run, h: TimerHandle | undefined): void {
    this.clock.cancel(this.wftTimers.get(run.runId));
    if (h) this.wftTimers.set(run.runId, h);
    else this.wftTimers.delete(run.runId);
  }

  setSticky(run: Run, sticky: Run['sticky']): void {
    // A worker finishes the tasks it holds after announcing its shutdown, still naming its sticky
    // queue. Nobody will poll that queue again (the real server finds it has no pollers), so the
    // run stays on the normal queue rather than sending its next task or query there to wait out
    // schedule-to-start.
    if (sticky && this.shutDownSticky.has(`${run.ns}\u0000${sticky.queue}`)) sticky = null;
    if (run.sticky && (!sticky || sticky.queue !== run.sticky.queue)) {
      const set = this.stickyRuns.get(run.sticky.queue);
      set?.delete(run);
      if (set?.size === 0) this.stickyRuns.delete(run.sticky.queue);
    }
    run.sticky = sticky;
    if (sticky) {
      let set = this.stickyRuns.get(sticky.queue);
      if (!set) {
        set = new Set();
        this.stickyRuns.set(sticky.queue, set);
      }
      set.add(run);
    }
  }

  /** Drops stickiness; a workflow task waiting on the sticky queue moves to the normal queue. */
  unstick(run: Run): void {
    this.setSticky(run, null);
    const w = run.wft;
    if (w && w.startedEventId === 0 && w.onSticky) {
      w.onSticky = false;
      this.setWftTimer(run, undefined);
      this.enqueueWft(run);
    }
  }

  /** ShutdownWorker: the queue's worker is gone for good; its runs and waiting queries move now. */
  shutdownStickyQueue(ns: string, queue: string): void {
    const k = `${ns}\u0000${queue}`;
    this.shutDownSticky.add(k);
    // Bounded memory: the oldest names are the least likely to be named by a late completion.
    if (this.shutDownSticky.size > 10_000) {
      this.shutDownSticky.delete(this.shutDownSticky.values().next().value!);
    }
    const set = this.stickyRuns.get(queue);
    if (set) for (const run of [...set]) if (run.ns === ns) this.unstick(run);
    const q = this.wfQueues.get(k);
    if (!q) return;
    this.wfQueues.delete(k);
    q.releaseAll();
    // Queries waiting there go to the normal queue at once (workflow tasks were moved by unstick).
    for (const t of q.drain(() => true))
      if (t.kind === 'query' && !t.q.dispatched && !t.q.done) this.dispatchQuery(t.q);
  }

  /** Dispatch-time claim of a workflow task ticket; returns the poll response or null if stale. */
  claimWorkflowTicket(t: WfTicket, identity: string): Obj | null {
    if (t.kind === 'query') return this.claimQuery(t.q);
    const run = t.run;
    const w = run.wft;
    if (!w || w.scheduledEventId !== t.scheduledEventId || w.startedEventId > 0 || w.onSticky !== t.sticky) {
      return null;
    }
    if (run.status !== ExecStatus.RUNNING) return null;
    const now = this.clock.now();
    const started = append(
      run,
      makeEvent(this.clock, EventType.WORKFLOW_TASK_STARTED, {
        scheduledEventId: w.scheduledEventId,
        identity,
        requestId: randomUUID(),
        ...historyStats(run),
      }),
    );
    w.startedEventId = started.eventId;
    w.startedTime = now;
    const attempt = w.attempt;
    this.setWftTimer(
      run,
      this.clock.after(run.taskTimeoutMs, () => {
        if (run.wft === w && w.startedEventId === started.eventId) this.failWft(run, 'timeout', undefined);
      }),
    );
    const history = w.onSticky ? events(run, run.previousStartedEventId + 1) : events(run);
    const messages: Obj[] = [];
    for (const u of run.updates.values()) {
      if (u.stage !== 'admitted' || u.delivered) continue;
      u.delivered = true;
      w.deliveredUpdates.push(u.updateId);
      messages.push({
        id: `${u.updateId}/request`,
        protocolInstanceId: u.updateId,
        eventId: started.eventId - 1,
        body: packAny('temporal.api.update.v1.Request', u.request),
      });
    }
    this.touch(run);
    return {
      taskToken: encodeToken({ ns: run.ns, runId: run.runId, kind: 'wft', id: w.scheduledEventId, attempt }),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.workflowType },
      previousStartedEventId: run.previousStartedEventId,
      startedEventId: started.eventId,
      attempt,
      history: { events: history },
      workflowExecutionTaskQueue: { name: run.taskQueue, kind: TaskQueueKind.NORMAL },
      scheduledTime: ts(w.scheduledTime),
      startedTime: ts(now),
      messages,
    };
  }

  /** Ends the in-flight workflow task bookkeeping (completion, failure or timeout). */
  endWft(run: Run): void {
    if (!run.wft) return;
    run.wft = null;
    this.setWftTimer(run, undefined);
    this.clock.release();
  }

  /** Workflow task failed or timed out: record it and retry on the normal queue. */
  failWft(run: Run, why: 'timeout' | 'failed', req: Obj | undefined): void {
    const w = run.wft;
    if (!w) return;
    if (why === 'timeout') {
      append(
        run,
        makeEvent(this.clock, EventType.WORKFLOW_TASK_TIMED_OUT, {
          scheduledEventId: w.scheduledEventId,
          startedEventId: w.startedEventId,
          timeoutType: 1, // START_TO_CLOSE
        }),
      );
    } else {
      append(
        run,
        makeEvent(this.clock, EventType.WORKFLOW_TASK_FAILED, {
          scheduledEventId: w.scheduledEventId,
          startedEventId: w.startedEventId,
          cause: req?.cause,
          failure: req?.failure,
          identity: req?.identity,
        }),
      );
    }
    for (const id of w.deliveredUpdates) {
      const u = run.updates.get(id);
      if (u && u.stage === 'admitted') u.delivered = false;
    }
    const attempt = w.attempt + 1;
    this.endWft(run);
    flushBuffered(run);
    this.setSticky(run, null);
    if (run.status === ExecStatus.RUNNING) this.scheduleWft(run, attempt);
    this.dispatchPendingQueries(run);
    this.touch(run);
  }

  // ---- queries dispatch (answers come back through RespondQueryTaskCompleted) ---------------
  newQuery(run: Run, query: Obj, finish: QueryTask['finish']): QueryTask {
    const q: QueryTask = { id: this.querySeq++, run, query, dispatched: false, done: false, finish };
    this.queries.set(q.id, q);
    this.clock.hold();
    const orig = q.finish;
    q.finish = (res) => {
      this.clock.cancel(q.stickyFallback);
      if (q.done) return;
      q.done = true;
      this.queries.delete(q.id);
      this.clock.release();
      orig(res);
    };
    if (isWftStarted(run)) {
      const list = this.pendingQueries.get(run.runId) ?? [];
      list.push(q);
      this.pendingQueries.set(run.runId, list);
    } else {
      this.dispatchQuery(q);
    }
    return q;
  }

  private dispatchQuery(q: QueryTask): void {
    const run = q.run;
    this.clock.cancel(q.stickyFallback);
    if (run.status === ExecStatus.RUNNING && run.sticky) {
      const sticky = run.sticky;
      // As the real server: a query the sticky worker does not take within schedule-to-start
      // resets stickiness and goes to the normal queue. Armed before the offer may claim it.
      q.stickyFallback = this.clock.after(sticky.scheduleToStartMs, () => {
        if (!q.dispatched && !q.done) {
          if (run.sticky === sticky) this.unstick(run);
          this.wfQueue(run.ns, run.taskQueue).offer({ kind: 'query', q });
        }
      });
      this.wfQueue(run.ns, sticky.queue).offer({ kind: 'query', q });
    } else {
      this.wfQueue(run.ns, run.taskQueue).offer({ kind: 'query', q });
    }
  }

  dispatchPendingQueries(run: Run): void {
    const list = this.pendingQueries.get(run.runId);
    if (!list) return;
    this.pendingQueries.delete(run.runId);
    for (const q of list) if (!q.done) this.dispatchQuery(q);
  }

  private claimQuery(q: QueryTask): Obj | null {
    if (q.done || q.dispatched) return null;
    const run = q.run;
    // Taken off its queue: no sticky fallback any more (a deferred query is dispatched again later).
    this.clock.cancel(q.stickyFallback);
    if (isWftStarted(run)) {
      const list = this.pendingQueries.get(run.runId) ?? [];
      if (!list.includes(q)) list.push(q);
      this.pendingQueries.set(run.runId, list);
      return null;
    }
    q.dispatched = true;
    // An empty history makes the worker answer from its cache or fetch the full history itself.
    return {
      taskToken: encodeToken({ ns: run.ns, runId: run.runId, kind: 'query', id: q.id, attempt: 1 }),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.workflowType },
      previousStartedEventId: run.previousStartedEventId,
      startedEventId: 0,
      attempt: 1,
      history: { events: [] },
      query: q.query,
      workflowExecutionTaskQueue: { name: run.taskQueue, kind: TaskQueueKind.NORMAL },
      scheduledTime: ts(this.clock.now()),
      startedTime: ts(this.clock.now()),
    };
  }

  // ---- signals, cancel, terminate ----------------------------------------------------------
  signal(
    run: Run,
    signalName: string,
    input: Obj | undefined,
    header: Obj | undefined,
    identity: string,
    external?: Obj,
  ): void {
    this.addExternal(run, EventType.WORKFLOW_EXECUTION_SIGNALED, {
      signalName,
      input,
      identity,
      header,
      externalWorkflowExecution: external,
    });
    this.touch(run);
  }

  requestCancel(
    run: Run,
    reason: string,
    identity: string,
    external?: { initiatedEventId: number; execution: Obj },
  ): void {
    if (run.cancelRequested) return;
    run.cancelRequested = true;
    this.addExternal(run, EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
      cause: reason,
      identity,
      externalInitiatedEventId: external?.initiatedEventId,
      externalWorkflowExecution: external?.execution,
    });
    this.touch(run);
  }

  terminate(run: Run, reason: string, details: Obj | undefined, identity: string): void {
    if (run.status !== ExecStatus.RUNNING) throw notFound('workflow execution already completed');
    if (run.wft && run.wft.startedEventId > 0) {
      append(
        run,
        makeEvent(this.clock, EventType.WORKFLOW_TASK_FAILED, {
          scheduledEventId: run.wft.scheduledEventId,
          startedEventId: run.wft.startedEventId,
          cause: 17, // FORCE_CLOSE_COMMAND
          identity,
        }),
      );
    }
    flushBuffered(run);
    this.closeRun(run, ExecStatus.TERMINATED, EventType.WORKFLOW_EXECUTION_TERMINATED, {
      reason,
      details,
      identity,
    });
  }

  // ---- closing ---------------------------------------------------------------------------
  closeRun(run: Run, status: number, eventType: number, attrs: Obj): void {
    append(run, makeEvent(this.clock, eventType, attrs));
    run.status = status;
    run.closeTime = this.clock.now();
    run.nextRunId = attrs.newExecutionRunId ?? '';
    this.endWft(run);
    run.buffered = [];
    this.clock.cancel(this.runTimers.get(run.runId));
    this.runTimers.delete(run.runId);
    for (const a of run.activities.values()) {
      this.clock.cancel(this.actTimers.get(a));
      if (a.state !== 'backoff') this.clock.release('activity');
    }
    run.activities.clear();
    run.timers.clear();
    this.setSticky(run, null);
    for (const child of run.children.values()) this.applyParentClosePolicy(child);
    run.children.clear();
    abortUpdates(run);
    if (run.parent && !run.nextRunId) this.notifyParent(run, status, eventType, attrs);
    this.dispatchPendingQueries(run);
    this.touch(run);
    for (const l of this.closeListeners) l(run, attrs);
  }

  private applyParentClosePolicy(child: {
    namespace: string;
    workflowId: string;
    parentClosePolicy: number;
  }): void {
    const c = this.current.get(this.key(child.namespace, child.workflowId));
    if (!c || c.status !== ExecStatus.RUNNING) return;
    if (child.parentClosePolicy === ParentClosePolicy.ABANDON) return;
    if (child.parentClosePolicy === ParentClosePolicy.REQUEST_CANCEL) {
      this.requestCancel(c, 'parent closed', 'temporal-dev');
    } else {
      this.terminate(c, 'by parent close policy', undefined, 'temporal-dev');
    }
  }

  private notifyParent(run: Run, status: number, _eventType: number, attrs: Obj): void {
    const p = run.parent!;
    const parent = this.runs.get(p.runId);
    if (!parent || parent.status !== ExecStatus.RUNNING) return;
    const ref = parent.children.get(p.initiatedEventId);
    if (!ref) return;
    parent.children.delete(p.initiatedEventId);
    const common = {
      namespace: run.ns,
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.workflowType },
      initiatedEventId: p.initiatedEventId,
      startedEventId: ref.startedEventId,
    };
    switch (status) {
      case ExecStatus.COMPLETED:
        this.addExternal(parent, EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED, {
          ...common,
          result: attrs.result,
        });
        break;
      case ExecStatus.FAILED:
        this.addExternal(parent, EventType.CHILD_WORKFLOW_EXECUTION_FAILED, {
          ...common,
          failure: attrs.failure,
          retryState: attrs.retryState,
        });
        break;
      case ExecStatus.CANCELED:
        this.addExternal(parent, EventType.CHILD_WORKFLOW_EXECUTION_CANCELED, {
          ...common,
          details: attrs.details,
        });
        break;
      case ExecStatus.TIMED_OUT:
        this.addExternal(parent, EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT, {
          ...common,
          retryState: attrs.retryState,
        });
        break;
      default:
        this.addExternal(parent, EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED, common);
    }
    this.touch(parent);
  }

  /** A run joins `runs` (start, reset, loading saved state); the caller decides whether it is current. */
  addRun(run: Run): void {
    if (this.runs.has(run.runId)) return;
    this.runs.set(run.runId, run);
    const key = this.key(run.ns, run.workflowId);
    this.runsOfId.set(key, (this.runsOfId.get(key) ?? 0) + 1);
  }

  /**
   * DeleteWorkflowExecution and retention: the run leaves memory and the store; an older run of its
   * id becomes current, and with none left the id is free.
   */
  forgetRun(run: Run): void {
    if (this.runs.get(run.runId) !== run) return;
    this.runs.delete(run.runId);
    this.pendingQueries.delete(run.runId);
    const key = this.key(run.ns, run.workflowId);
    const left = (this.runsOfId.get(key) ?? 1) - 1;
    if (left > 0) this.runsOfId.set(key, left);
    else this.runsOfId.delete(key);
    if (left === 0) this.current.delete(key);
    else if (this.current.get(key) === run) {
      let latest: Run | undefined;
      for (const r of this.runs.values()) {
        if (
          r.ns === run.ns &&
          r.workflowId === run.workflowId &&
          (!latest || r.startTime >= latest.startTime)
        )
          latest = r;
      }
      if (latest) this.current.set(key, latest);
      else this.current.delete(key);
    }
    this.store.forget(run);
  }

  // ---- helpers ---------------------------------------------------------------------------
  durOr(d: Obj | undefined, fallback: number): number {
    const ms = durMs(d);
    return ms > 0 ? ms : fallback;
  }

  tsOf(ms: number): Obj | undefined {
    return ms > 0 ? ts(ms) : undefined;
  }

  nowTs(): Obj {
    return ts(this.clock.now());
  }

  msOf(t: Obj | undefined): number {
    return tsMs(t);
  }
}
