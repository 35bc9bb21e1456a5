// --db-filename: on start, the state committed to the SQLite file (sqlite-store.ts) is read back and
// every open run resumes: timers re-armed at their deadlines, activities handed out again or — when a
// worker held them — kept started, so that its heartbeats and completion are still accepted.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { resumeActivity } from './activities.ts';
import { armWorkflowTimer } from './commands.ts';
import type { Engine, Logger } from './engine.ts';
import { attachLog, attrsOf, eventAt, lastEvent } from './history.ts';
import type { Run } from './model.ts';
import { durMs, tsMs } from './model.ts';
import { EventType, ExecStatus } from './proto.ts';
import type { SqliteStore } from './sqlite-store.ts';

/** Refuses a file that is not SQLite (the JSON snapshot of earlier versions) with what to do. */
export function checkStateFile(file: string): void {
  if (!existsSync(file)) return;
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  const n = readSync(fd, head, 0, 16, 0);
  closeSync(fd);
  if (n === 0 || head.toString('latin1', 0, 15) === 'SQLite format 3') return;
  throw new Error(
    `${file} is not a temporal-dev SQLite state file${head[0] === 0x7b ? ' (it looks like the JSON snapshot of an earlier temporal-dev)' : ''}: move it away or delete it, or pass another --db-filename`,
  );
}

/** Reads namespaces and runs back and resumes the open runs. */
export function loadState(engine: Engine, store: SqliteStore, log: Logger): void {
  for (const n of store.loadNamespaces()) {
    const ns = engine.ensureNamespace(n.name);
    ns.id = n.id;
    if (n.info) ns.info = n.info;
    for (const [k, v] of n.searchAttributes) ns.searchAttributes.set(k, v);
  }
  const runs = store.loadRuns();
  for (const run of runs) {
    attachLog(run, store);
    engine.addRun(run);
    const key = engine.key(run.ns, run.workflowId);
    const cur = engine.current.get(key);
    if (!cur || cur.startTime <= run.startTime) engine.current.set(key, run);
  }
  for (const run of runs) resume(engine, store, run);
  if (runs.length > 0) log.info(`temporal-dev: loaded ${runs.length} runs from ${store.file}`);
}

/** Re-arms timers and re-queues work of an open run after a restart. */
function resume(engine: Engine, store: SqliteStore, run: Run): void {
  if (run.status !== ExecStatus.RUNNING) return;
  run.sticky = null;
  engine.armRunTimeout(run);
  const deadlines = run.timers.size > 0 ? store.timerDeadlines(run.runId) : new Map<string, number>();
  for (const [timerId, startedEventId] of run.timers) {
    let at = deadlines.get(timerId);
    if (at === undefined) {
      const started = eventAt(run, startedEventId);
      at = tsMs(started?.eventTime) + durMs(started ? attrsOf(started).startToFireTimeout : undefined);
    }
    armWorkflowTimer(engine, run, timerId, startedEventId, at);
  }
  for (const a of run.activities.values()) resumeActivity(engine, run, a);
  for (const u of run.updates.values()) u.delivered = false;
  const w = run.wft;
  if (w) {
    engine.clock.hold();
    if (w.startedEventId > 0) {
      // The worker that held it may be gone with its connection: retry it now rather than after its timeout.
      engine.failWft(run, 'timeout', undefined);
    } else {
      w.onSticky = false;
      engine.enqueueWft(run);
    }
  } else if (run.firstWftAt > engine.clock.now()) {
    // start delay / retry backoff still pending
    engine.clock.schedule(run.firstWftAt, () => engine.requestWft(run));
  } else if (lastEvent(run)?.eventType === EventType.WORKFLOW_EXECUTION_STARTED) {
    engine.requestWft(run);
  }
}
