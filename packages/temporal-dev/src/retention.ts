// Namespace retention, as the real server: a closed run is deleted (mutable state, history, its
// visibility record) once its namespace's retention has passed since it closed; describe and history
// then answer NotFound, list no longer has it, and its workflow id is free again. The deadline is
// fixed when the run closes (a later UpdateNamespace applies to runs closing after it); a restart
// recomputes it from the namespace's retention then. The time-skipping test server deletes nothing by
// default, as the official one (which has no retention): a test that skips days must still be able to
// read what closed; only a namespace registered (or updated) with a retention is swept there. Sweeps run on the server's clock with a passive
// timer (virtual time moves them in time-skipping mode, but they never make time skip) and delete at
// most SWEEP_BATCH runs before yielding to the event loop, so a large backlog never blocks the server.
import type { TimerHandle } from './clock.ts';
import type { Engine } from './engine.ts';
import type { Run } from './model.ts';
import { ExecStatus } from './proto.ts';

/** The retention `temporal server start-dev` gives the namespaces it creates. */
export const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;
/** Runs deleted before the server serves other calls again. */
const SWEEP_BATCH = 500;

/** Closed runs of one namespace and retention, in close order: their deadlines only grow. */
interface Queue {
  runs: Run[];
  deadlines: number[];
  head: number;
}

export class Retention {
  private readonly engine: Engine;
  private readonly queues = new Map<string, Queue>();
  private timer: TimerHandle | undefined;
  private continuing = false;
  /** Time-skipping mode: only an explicitly set retention deletes (see the header). */
  private readonly explicitOnly: boolean;

  constructor(engine: Engine) {
    this.engine = engine;
    this.explicitOnly = engine.clock.skipping;
    const closed = [...engine.runs.values()].filter((r) => r.status !== ExecStatus.RUNNING);
    closed.sort((a, b) => a.closeTime - b.closeTime);
    for (const run of closed) this.track(run);
    engine.closeListeners.add((run) => this.track(run));
    this.arm();
  }

  /** Closed runs waiting for their deadline (for tests and the memory figures). */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.runs.length - q.head;
    return n;
  }

  private track(run: Run): void {
    const set = this.engine.namespaces.get(run.ns)?.info?.retentionMs;
    if (set === undefined && this.explicitOnly) return;
    const retentionMs = set ?? DEFAULT_RETENTION_MS;
    const key = `${run.ns}\u0000${retentionMs}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { runs: [], deadlines: [], head: 0 };
      this.queues.set(key, q);
    }
    const deadline = run.closeTime + retentionMs;
    q.runs.push(run);
    q.deadlines.push(Math.max(deadline, q.deadlines[q.deadlines.length - 1] ?? deadline));
    if (!this.timer || deadline < this.timer.at) this.arm();
  }

  /** The passive timer at the earliest deadline (none when nothing is closed). */
  private arm(): void {
    if (this.continuing) return;
    let next = Number.POSITIVE_INFINITY;
    for (const q of this.queues.values())
      if (q.head < q.runs.length) next = Math.min(next, q.deadlines[q.head]!);
    this.engine.clock.cancel(this.timer);
    this.timer = undefined;
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = this.engine.clock.schedulePassive(next, () => {
      this.timer = undefined;
      this.sweep();
    });
  }

  /** Deletes up to SWEEP_BATCH runs past their deadline; continues on a later turn if more are due. */
  sweep(): number {
    const now = this.engine.clock.now();
    let budget = SWEEP_BATCH;
    let more = false;
    for (const [key, q] of this.queues) {
      while (q.head < q.runs.length && q.deadlines[q.head]! <= now) {
        if (budget === 0) {
          more = true;
          break;
        }
        const run = q.runs[q.head]!;
        q.runs[q.head] = undefined as unknown as Run;
        q.head++;
        // Already deleted (DeleteWorkflowExecution) or not closed after all: nothing to do.
        if (this.engine.runs.get(run.runId) !== run || run.status === ExecStatus.RUNNING) continue;
        this.engine.forgetRun(run);
        budget--;
      }
      if (q.head === q.runs.length) this.queues.delete(key);
      else if (q.head > 1024 && q.head * 2 > q.runs.length) {
        q.runs = q.runs.slice(q.head);
        q.deadlines = q.deadlines.slice(q.head);
        q.head = 0;
      }
      if (more) break;
    }
    const removed = SWEEP_BATCH - budget;
    if (removed > 0) this.engine.log.debug(`temporal-dev: retention removed ${removed} closed runs`);
    if (more) {
      this.continuing = true;
      setImmediate(() => {
        this.continuing = false;
        this.sweep();
      });
    } else {
      this.arm();
    }
    return removed;
  }
}
