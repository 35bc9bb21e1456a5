// Server time: real, or virtual with time skipping (test server). Timers live in a min-heap; in
// skipping mode, when nothing is in flight and skipping is unlocked, time jumps to the next timer.
// Activities hold time too (as on the official test server), except while a caller sleeps through the
// test service (env.sleep()): an explicit request to move time goes on past a running activity instead
// of waiting for it in real time, but the time skipped does not count against that activity: its
// deadline timers ("frozen" entries) move with the skip, so they stay due at the same real time.

export interface TimerHandle {
  readonly at: number;
  cancelled: boolean;
}

interface Entry extends TimerHandle {
  at: number;
  fn: () => void;
  seq: number;
  /** Set for deadlines that skipped time must not bring nearer; told how far each skip moved them. */
  onSkip?: (ms: number) => void;
  /** Fires once time reaches it, but time never jumps to it (housekeeping such as retention). */
  passive?: boolean;
}

export class Clock {
  private offset = 0;
  private heap: Entry[] = [];
  private seq = 0;
  private realTimer: NodeJS.Timeout | undefined;
  private realTimerDue = Number.POSITIVE_INFINITY;
  private lockCount: number;
  private inFlight = 0;
  private activitiesInFlight = 0;
  private sleepers = 0;
  private skipScheduled = false;
  private stopped = false;
  readonly skipping: boolean;

  constructor(opts: { skipping: boolean }) {
    this.skipping = opts.skipping;
    // The official test server starts with time skipping locked once (the SDK unlocks around result()).
    this.lockCount = opts.skipping ? 1 : 0;
  }

  now(): number {
    return Date.now() + this.offset;
  }

  /** `onSkip` makes the timer move with time skips (see the header); it is told each skip's length. */
  schedule(at: number, fn: () => void, onSkip?: (ms: number) => void): TimerHandle {
    const e: Entry = { at, fn, seq: this.seq++, cancelled: false, onSkip };
    this.push(e);
    this.arm();
    this.maybeSkip();
    return e;
  }

  /**
   * A timer that is no reason to skip time: it fires when time gets there (really, or by a skip to
   * another timer). Server housekeeping uses it, so that it never moves a test's virtual time.
   */
  schedulePassive(at: number, fn: () => void): TimerHandle {
    const e: Entry = { at, fn, seq: this.seq++, cancelled: false, passive: true };
    this.push(e);
    this.arm();
    return e;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.schedule(this.now() + Math.max(0, ms), fn);
  }

  cancel(h: TimerHandle | undefined): void {
    if (h) h.cancelled = true;
  }

  lock(): void {
    this.lockCount++;
  }

  unlock(): void {
    if (this.lockCount > 0) this.lockCount--;
    this.maybeSkip();
  }

  get locked(): boolean {
    return this.lockCount > 0;
  }

  /** Work the worker still has to do (workflow tasks, queries; activities) holds virtual time still. */
  hold(kind: 'task' | 'activity' = 'task'): void {
    if (kind === 'activity') this.activitiesInFlight++;
    else this.inFlight++;
  }

  release(kind: 'task' | 'activity' = 'task'): void {
    if (kind === 'activity') this.activitiesInFlight = Math.max(0, this.activitiesInFlight - 1);
    else this.inFlight = Math.max(0, this.inFlight - 1);
    this.maybeSkip();
  }

  /** Runs `sleep` (a test-service sleep) with activities no longer holding time until it settles. */
  async whileSleeping<T>(sleep: () => Promise<T>): Promise<T> {
    this.sleepers++;
    this.maybeSkip();
    try {
      return await sleep();
    } finally {
      this.sleepers--;
    }
  }

  private held(): boolean {
    return this.inFlight > 0 || (this.activitiesInFlight > 0 && this.sleepers === 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.realTimer) clearTimeout(this.realTimer);
  }

  private maybeSkip(): void {
    if (!this.skipping || this.skipScheduled || this.stopped) return;
    this.skipScheduled = true;
    // Defer so that work triggered in the same tick (e.g. a task enqueued right after) counts.
    setImmediate(() => {
      this.skipScheduled = false;
      if (this.lockCount > 0 || this.held() || this.stopped) return;
      const next = this.nextSkippable();
      if (!next) return;
      const skip = next.at - this.now();
      if (skip > 0) {
        this.offset += skip;
        this.moveFrozen(skip);
      }
      this.fireDue();
    });
  }

  /** The earliest live timer time may jump to: any but the frozen and the passive ones. */
  private nextSkippable(): Entry | undefined {
    const top = this.peekLive();
    if (!top || (!top.onSkip && !top.passive)) return top;
    let best: Entry | undefined;
    for (const e of this.heap) {
      if (e.cancelled || e.onSkip || e.passive) continue;
      if (!best || less(e, best)) best = e;
    }
    return best;
  }

  private moveFrozen(ms: number): void {
    // Frozen timers belong to activities in flight (their timers are cancelled when they leave it).
    if (this.activitiesInFlight === 0) return;
    const frozen = this.heap.filter((e) => !e.cancelled && e.onSkip);
    if (frozen.length === 0) return;
    for (const e of frozen) {
      e.at += ms;
      e.onSkip?.(ms);
    }
    const all = this.heap.filter((e) => !e.cancelled);
    this.heap = [];
    for (const e of all) this.push(e);
  }

  private peekLive(): Entry | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private fireDue(): void {
    const now = this.now();
    for (;;) {
      const e = this.peekLive();
      if (!e || e.at > now) break;
      this.pop();
      try {
        e.fn();
      } catch (err) {
        console.error('temporal-dev: timer callback failed', err);
      }
    }
    this.arm();
    this.maybeSkip();
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.peekLive();
    if (!next) return;
    // Compare in real time: a skip moves virtual time, so a timer armed before it may be too late.
    const due = next.at - this.offset;
    if (this.realTimer && this.realTimerDue <= due) return;
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimerDue = due;
    const delay = Math.min(Math.max(0, due - Date.now()), 2_000_000_000);
    this.realTimer = setTimeout(() => {
      this.realTimer = undefined;
      this.realTimerDue = Number.POSITIVE_INFINITY;
      this.fireDue();
    }, delay);
    this.realTimer.unref?.();
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
