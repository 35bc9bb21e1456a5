// Who polls which task queue, for DescribeTaskQueue: Temporal UI lists these as the queue's workers and
// only offers a workflow's call stack (a __stack_trace query) when some worker polls its queue.
// As in the official matching service, a poller is kept for 5 minutes after its last poll.
import type { Obj } from './model.ts';
import { ts } from './model.ts';

const TTL_MS = 5 * 60_000;
/** The official server's rate when a worker sets no maxTasksPerSecond. */
const DEFAULT_RATE = 100_000;

interface Poller {
  identity: string;
  lastAccessTime: number;
  ratePerSecond: number;
  workerVersionCapabilities?: Obj;
}

/** Task queue types as in temporal.api.enums.v1.TaskQueueType. */
export const TaskQueueType = { WORKFLOW: 1, ACTIVITY: 2 } as const;

export class Pollers {
  private readonly byQueue = new Map<string, Map<string, Poller>>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Called when a poll arrives (and again when it ends, so a long poll keeps the worker fresh). */
  record(ns: string, queue: string, type: number, req: Obj): void {
    const key = `${ns}\u0000${type}\u0000${queue}`;
    let m = this.byQueue.get(key);
    if (!m) {
      m = new Map();
      this.byQueue.set(key, m);
    }
    const identity = req.identity ?? '';
    m.delete(identity); // re-inserted last: the map stays ordered by last access
    m.set(identity, {
      identity,
      lastAccessTime: this.now(),
      ratePerSecond: req.taskQueueMetadata?.maxTasksPerSecond?.value || DEFAULT_RATE,
      ...(req.workerVersionCapabilities ? { workerVersionCapabilities: req.workerVersionCapabilities } : {}),
    });
  }

  /** PollerInfo messages, most recent first, of pollers seen within the last 5 minutes. */
  list(ns: string, queue: string, type: number): Obj[] {
    const m = this.byQueue.get(`${ns}\u0000${type}\u0000${queue}`);
    if (!m) return [];
    const cutoff = this.now() - TTL_MS;
    for (const [id, p] of m) if (p.lastAccessTime < cutoff) m.delete(id);
    return [...m.values()].reverse().map((p) => ({ ...p, lastAccessTime: ts(p.lastAccessTime) }));
  }
}
