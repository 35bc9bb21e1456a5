// The server's state in SQLite (node:sqlite): history events append-only, one mutable-state row per
// run, the run's timers and pending tasks as rows, namespaces and schedules. The engine marks what it
// changes; everything marked is committed in one transaction at the end of the current microtask
// batch. An RPC answers from a promise reaction queued after the change it made (grpc-server.ts), so
// what it acknowledged is committed before the answer leaves, and a SIGKILL loses nothing acknowledged.
// Without a file nothing needs to survive: run state stays in memory only, and a run's events go to an
// in-memory database when it goes idle or closes (an idle run keeps no history on the heap; a busy one
// keeps its recent events, which its next workflow task reads).
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { deserialize, serialize } from 'node:v8';
import type { NamespaceInfo } from './engine.ts';
import { attrsOf, type EventLog, eventAt } from './history.ts';
import type { Obj, Run } from './model.ts';
import { durMs, tsMs } from './model.ts';
import { decode, ExecStatus, encode, messageType } from './proto.ts';

const FORMAT = '2';
const HistoryEvent = messageType('temporal.api.history.v1.HistoryEvent');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, workflow_id TEXT NOT NULL,
  status INTEGER NOT NULL, start_time INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history_events (
  run_id TEXT NOT NULL, event_id INTEGER NOT NULL, event BLOB NOT NULL,
  PRIMARY KEY (run_id, event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
  run_id TEXT NOT NULL, timer_id TEXT NOT NULL, started_event_id INTEGER NOT NULL, fire_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, timer_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
  run_id TEXT NOT NULL, kind TEXT NOT NULL, scheduled_event_id INTEGER NOT NULL,
  namespace TEXT NOT NULL, task_queue TEXT NOT NULL, attempt INTEGER NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (run_id, kind, scheduled_event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedules (
  namespace TEXT NOT NULL, schedule_id TEXT NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (namespace, schedule_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_jobs (
  namespace TEXT NOT NULL, job_id TEXT NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (namespace, job_id)) WITHOUT ROWID;
`;

/** What a restart needs of a namespace. */
export interface StoredNamespace {
  name: string;
  id: string;
  searchAttributes: Map<string, number>;
  /** Description, owner, data and retention (engine.ts NamespaceInfo); absent in older files. */
  info?: NamespaceInfo;
}

/** A durable key/value table for another module's records (schedules, batch jobs). */
export interface RecordStore<T> {
  load(): T[];
  save(record: T): void;
  remove(namespace: string, id: string): void;
}

interface Statements {
  insertEvent: StatementSync;
  readEvents: StatementSync;
  upsertRun: StatementSync;
  deleteRun: StatementSync;
  deleteEvents: StatementSync;
  deleteTimers: StatementSync;
  insertTimer: StatementSync;
  deleteTasks: StatementSync;
  insertTask: StatementSync;
  upsertNamespace: StatementSync;
}

export interface StoreLogger {
  error(msg: string): void;
}

export class SqliteStore implements EventLog {
  /** Run state is written too (a file): a restart resumes from it. */
  readonly durable: boolean;
  readonly file: string;
  private readonly db: DatabaseSync;
  private readonly st: Statements;
  private readonly dirty = new Set<Run>();
  private readonly deleted = new Set<string>();
  private commitQueued = false;
  private readonly log: StoreLogger;

  constructor(file: string | undefined, log: StoreLogger) {
    this.durable = file !== undefined;
    this.file = file ?? ':memory:';
    this.log = log;
    this.db = new DatabaseSync(this.file);
    // WAL without fsync per commit: a committed transaction is in the file (the OS has it) when COMMIT
    // returns, which is what surviving a killed process needs; power loss may lose the last commits.
    if (this.durable) this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    else this.db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;');
    this.db.exec(SCHEMA);
    const format = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('format') as
      | { value: string }
      | undefined;
    if (format && format.value !== FORMAT) {
      throw new Error(
        `${this.file}: temporal-dev state format ${format.value}, this version reads ${FORMAT}: move the file away (or delete it) to start afresh`,
      );
    }
    if (!format) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('format', FORMAT);
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      insertEvent: p('INSERT OR REPLACE INTO history_events (run_id, event_id, event) VALUES (?, ?, ?)'),
      readEvents: p(
        'SELECT event FROM history_events WHERE run_id = ? AND event_id BETWEEN ? AND ? ORDER BY event_id',
      ),
      upsertRun: p(
        'INSERT OR REPLACE INTO runs (run_id, namespace, workflow_id, status, start_time, state) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteRun: p('DELETE FROM runs WHERE run_id = ?'),
      deleteEvents: p('DELETE FROM history_events WHERE run_id = ?'),
      deleteTimers: p('DELETE FROM timers WHERE run_id = ?'),
      insertTimer: p('INSERT INTO timers (run_id, timer_id, started_event_id, fire_at) VALUES (?, ?, ?, ?)'),
      deleteTasks: p('DELETE FROM tasks WHERE run_id = ?'),
      insertTask: p(
        'INSERT INTO tasks (run_id, kind, scheduled_event_id, namespace, task_queue, attempt, state) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      upsertNamespace: p('INSERT OR REPLACE INTO namespaces (name, state) VALUES (?, ?)'),
    };
  }

  // ---- EventLog (history.ts) ---------------------------------------------------------------
  changed(run: Run): void {
    this.dirty.add(run);
    this.queueCommit();
  }

  /** With a file: before the RPC answers. In memory nothing is durable: later, batching more changes. */
  private queueCommit(): void {
    if (this.commitQueued) return;
    this.commitQueued = true;
    if (this.durable) queueMicrotask(() => this.commit());
    else setImmediate(() => this.commit());
  }

  read(runId: string, from: number, to: number): Obj[] {
    const rows = this.st.readEvents.all(runId, from, to) as Array<{ event: Uint8Array }>;
    return rows.map((r) => decode(HistoryEvent, r.event));
  }

  // ---- commit ------------------------------------------------------------------------------
  /** Writes every run changed since the last commit, in one transaction. */
  commit(): void {
    this.commitQueued = false;
    // After close (shutdown): what still changes is not kept.
    if (!this.db.isOpen || (this.dirty.size === 0 && this.deleted.size === 0)) return;
    const runs = [...this.dirty];
    this.dirty.clear();
    const deleted = [...this.deleted];
    this.deleted.clear();
    const saved = runs.map((r) => r.savedEventId);
    try {
      this.db.exec('BEGIN');
      for (const runId of deleted) this.deleteRows(runId);
      for (const run of runs) this.writeRun(run);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      // Kept for the next commit: the state in memory is still right.
      runs.forEach((run, i) => {
        run.savedEventId = saved[i]!;
        this.dirty.add(run);
      });
      for (const id of deleted) this.deleted.add(id);
      this.log.error(`temporal-dev: could not write state to ${this.file}: ${(err as Error).message}`);
      return;
    }
    for (const run of runs) trimTail(run);
  }

  private writeRun(run: Run): void {
    const st = this.st;
    // In memory a busy run keeps its events on the heap (its next task reads them); they are written
    // when it goes idle or closes, or when there are too many.
    if (!this.durable && isBusy(run) && run.tail.length <= BUSY_TAIL) return;
    const first = run.historyLength - run.tail.length + 1;
    for (let i = Math.max(0, run.savedEventId + 1 - first); i < run.tail.length; i++) {
      const ev = run.tail[i]!;
      st.insertEvent.run(run.runId, ev.eventId, encode(HistoryEvent, ev));
    }
    run.savedEventId = run.historyLength;
    if (!this.durable) return;
    st.upsertRun.run(run.runId, run.ns, run.workflowId, run.status, run.startTime, serialize(stateOf(run)));
    st.deleteTimers.run(run.runId);
    for (const [timerId, startedEventId] of run.timers) {
      st.insertTimer.run(run.runId, timerId, startedEventId, timerFireAt(run, startedEventId));
    }
    st.deleteTasks.run(run.runId);
    const w = run.wft;
    if (w) {
      const queue = w.onSticky && run.sticky ? run.sticky.queue : run.taskQueue;
      const state = w.startedEventId > 0 ? 'started' : 'scheduled';
      st.insertTask.run(run.runId, 'workflow', w.scheduledEventId, run.ns, queue, w.attempt, state);
    }
    for (const a of run.activities.values()) {
      st.insertTask.run(run.runId, 'activity', a.scheduledEventId, run.ns, a.taskQueue, a.attempt, a.state);
    }
  }

  private deleteRows(runId: string): void {
    const st = this.st;
    st.deleteRun.run(runId);
    st.deleteEvents.run(runId);
    st.deleteTimers.run(runId);
    st.deleteTasks.run(runId);
  }

  /** DeleteWorkflowExecution: the run's rows go with the next commit. */
  forget(run: Run): void {
    this.dirty.delete(run);
    run.tail = [];
    this.deleted.add(run.runId);
    this.queueCommit();
  }

  // ---- namespaces --------------------------------------------------------------------------
  saveNamespace(ns: StoredNamespace): void {
    if (!this.durable) return;
    this.st.upsertNamespace.run(
      ns.name,
      serialize({ name: ns.name, id: ns.id, searchAttributes: ns.searchAttributes, info: ns.info }),
    );
  }

  // ---- loading -----------------------------------------------------------------------------
  loadNamespaces(): StoredNamespace[] {
    const rows = this.db.prepare('SELECT state FROM namespaces').all() as Array<{ state: Uint8Array }>;
    return rows.map((r) => deserialize(r.state) as StoredNamespace);
  }

  /** Every run, oldest first (so that the newest of a workflow id ends up current). */
  loadRuns(): Run[] {
    const rows = this.db.prepare('SELECT state FROM runs ORDER BY start_time, rowid').all() as Array<{
      state: Uint8Array;
    }>;
    return rows.map((r) => ({ ...(deserialize(r.state) as Run), tail: [] }));
  }

  /** When each open timer of the run fires, from its row. */
  timerDeadlines(runId: string): Map<string, number> {
    const rows = this.db
      .prepare('SELECT timer_id, fire_at FROM timers WHERE run_id = ?')
      .all(runId) as Array<{ timer_id: string; fire_at: number }>;
    return new Map(rows.map((r) => [r.timer_id, Number(r.fire_at)]));
  }

  // ---- other modules' records --------------------------------------------------------------
  /** A table of JSON records keyed by namespace and id, written as they change. */
  recordStore<T>(table: 'schedules' | 'batch_jobs', keyOf: (r: T) => [string, string]): RecordStore<T> {
    const { db } = this;
    const id = table === 'schedules' ? 'schedule_id' : 'job_id';
    const save = db.prepare(`INSERT OR REPLACE INTO ${table} (namespace, ${id}, record) VALUES (?, ?, ?)`);
    const remove = db.prepare(`DELETE FROM ${table} WHERE namespace = ? AND ${id} = ?`);
    const all = db.prepare(`SELECT record FROM ${table} ORDER BY namespace, ${id}`);
    return {
      load: () => (all.all() as Array<{ record: string }>).map((r) => JSON.parse(r.record) as T),
      save: (record) => {
        const [ns, id] = keyOf(record);
        save.run(ns, id, JSON.stringify(record));
      },
      remove: (ns, id) => {
        remove.run(ns, id);
      },
    };
  }

  /** Size of the database (its pages), for the memory figure of an in-memory store. */
  bytes(): number {
    const pages = this.db.prepare('PRAGMA page_count').get() as { page_count: number };
    const size = this.db.prepare('PRAGMA page_size').get() as { page_size: number };
    return Number(pages.page_count) * Number(size.page_size);
  }

  close(): void {
    if (!this.db.isOpen) return;
    this.commit();
    this.db.close();
  }
}

/** The run as a row: everything but the events (they have their own rows). */
function stateOf(run: Run): Omit<Run, 'tail'> {
  const { tail: _events, ...state } = run;
  return state;
}

// A busy run's next workflow task reads its recent events: kept (up to a bound) so that it need not
// decode them again; an idle run (waiting for a signal, a timer, a child) keeps none.
const BUSY_TAIL = 256;

function isBusy(run: Run): boolean {
  return run.status === ExecStatus.RUNNING && (run.wft !== null || run.activities.size > 0);
}

/** Drops the events a committed run need not hold (only committed ones: they can be read back). */
function trimTail(run: Run): void {
  const committed = run.tail.length - (run.historyLength - run.savedEventId);
  if (committed <= 0) return;
  if (!isBusy(run)) run.tail = run.tail.slice(committed);
  else if (run.tail.length > BUSY_TAIL)
    run.tail = run.tail.slice(Math.min(committed, run.tail.length - BUSY_TAIL));
}

function timerFireAt(run: Run, startedEventId: number): number {
  const started = eventAt(run, startedEventId);
  return started ? tsMs(started.eventTime) + durMs(attrsOf(started).startToFireTimeout) : 0;
}
