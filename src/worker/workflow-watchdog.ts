// A stuck-workflow watchdog for the SDK's workflow threads that costs nothing per call. The SDK's own
// (vm's `timeout`, isolateExecutionTimeout) starts and joins a thread on every entry into workflow code;
// src/worker/workflow-thread-hook.ts drops it and marks a shared cell instead, and this module, on the main
// thread, checks those cells: a thread that has stayed in one entry for `limitMs` is reported and stopped.
// Stopping it fails its pending workflow tasks and the worker with them, visibly: an endless loop in
// workflow code is a bug to fix, and the server hands those tasks to another worker meanwhile.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Worker as ThreadWorker, WorkerOptions } from 'node:worker_threads';
import { BUSY, CELL_BYTES, ENTRIES, SDK_ENTRY, WATCHDOG_CELL } from './workflow-watchdog-cell.ts';

/** The SDK's default isolateExecutionTimeout: how long one entry into workflow code may run. */
export const DEFAULT_WORKFLOW_STALL_MS = 5_000;

export interface WatchdogLog {
  error(message: string, meta?: Record<string, unknown>): void;
}

interface Watched {
  thread: ThreadWorker;
  cell: Int32Array;
  limitMs: number;
  log: WatchdogLog;
  entries: number;
  since: number;
}

const threadEntry = fileURLToPath(new URL('./workflow-thread-entry.ts', import.meta.url));
// The CommonJS exports the SDK reads `Worker` from when it starts a workflow thread (an ESM namespace is
// read-only).
const threads = createRequire(import.meta.url)('node:worker_threads') as { Worker: typeof ThreadWorker };
const watched = new Set<Watched>();
let timer: NodeJS.Timeout | undefined;

type Settings = { limitMs: number; log: WatchdogLog };
// The settings live on the installed class: the builtin is shared by every module instance in the process
// (a test runner loads this module once per file), so the latest call's settings apply to later threads.
type Watching = typeof ThreadWorker & { watchdog?: Settings };

const isWorkflowThread = (filename: unknown) =>
  typeof filename === 'string' && /workflow-worker-thread(\.js)?$/.test(filename);

/**
 * Workflow threads the SDK starts from now on run without its per-call timeout and are watched with
 * `limitMs` (the latest call's settings apply to threads started after it).
 */
export function watchWorkflowThreads(options: { limitMs?: number; log: WatchdogLog }): void {
  const settings = { limitMs: options.limitMs ?? DEFAULT_WORKFLOW_STALL_MS, log: options.log };
  const installed = threads.Worker as Watching;
  if (installed.watchdog) {
    installed.watchdog = settings;
    return;
  }
  class WatchedWorker extends installed {
    static override watchdog: Settings = settings;
    constructor(filename: string | URL, opts: WorkerOptions = {}) {
      if (!isWorkflowThread(filename)) {
        super(filename, opts);
        return;
      }
      const shared = new SharedArrayBuffer(CELL_BYTES);
      const data = typeof opts.workerData === 'object' && opts.workerData !== null ? opts.workerData : {};
      super(threadEntry, {
        ...opts,
        workerData: { ...data, [WATCHDOG_CELL]: shared, [SDK_ENTRY]: String(filename) },
      });
      const entry: Watched = {
        thread: this,
        cell: new Int32Array(shared),
        ...WatchedWorker.watchdog,
        entries: 0,
        since: performance.now(),
      };
      watched.add(entry);
      this.once('exit', () => watched.delete(entry));
      timer ??= setInterval(checkThreads, 250).unref();
    }
  }
  threads.Worker = WatchedWorker;
}

/** Stops every watched thread that has been in the same entry into workflow code for its limit. */
function checkThreads(): void {
  const now = performance.now();
  for (const w of watched) {
    const entries = Atomics.load(w.cell, ENTRIES);
    if (Atomics.load(w.cell, BUSY) === 0 || entries !== w.entries) {
      w.entries = entries;
      w.since = now;
      continue;
    }
    const stuckMs = now - w.since;
    if (stuckMs < w.limitMs) continue;
    watched.delete(w);
    w.log.error('worker.workflow_thread_stuck', {
      threadId: w.thread.threadId,
      stuckMs: Math.round(stuckMs),
      limitMs: w.limitMs,
      action:
        'stopping the thread: its workflow tasks fail and the worker stops; a workflow whose code never ' +
        'returns (an endless loop) shows its workflow task timing out in Temporal UI: fix that code',
    });
    void w.thread.terminate();
  }
  if (watched.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}
