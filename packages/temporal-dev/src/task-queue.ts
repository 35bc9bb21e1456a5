// Long-poll matching: tasks wait for pollers, pollers wait for tasks. A task is a ticket that is
// claimed at dispatch time (claim returns null when the ticket went stale, e.g. activity cancelled).

export type Claim<T, R> = (ticket: T) => R | null;

interface Poller<T> {
  /** Returns true when the poller accepted the ticket (and is now finished). */
  offer(ticket: T): boolean;
  finish(): void;
  done: boolean;
}

export class TaskQueue<T> {
  private tickets: T[] = [];
  private head = 0;
  private pollers: Poller<T>[] = [];

  get backlog(): number {
    return this.tickets.length - this.head;
  }

  offer(ticket: T): void {
    while (this.pollers.length > 0) {
      const p = this.pollers.shift()!;
      if (p.done) continue;
      if (p.offer(ticket)) return;
      // stale ticket: the poller keeps waiting, the ticket is dropped
      this.pollers.unshift(p);
      return;
    }
    this.tickets.push(ticket);
  }

  /** Removes and returns tickets for which pred is true (e.g. moving sticky work to the normal queue). */
  drain(pred: (t: T) => boolean): T[] {
    const kept: T[] = [];
    const out: T[] = [];
    for (let i = this.head; i < this.tickets.length; i++) {
      const t = this.tickets[i]!;
      (pred(t) ? out : kept).push(t);
    }
    this.tickets = kept;
    this.head = 0;
    return out;
  }

  private shift(): T | undefined {
    if (this.head >= this.tickets.length) return undefined;
    const t = this.tickets[this.head]!;
    this.tickets[this.head++] = undefined as T;
    if (this.head === this.tickets.length) {
      this.tickets = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tickets.length) {
      this.tickets = this.tickets.slice(this.head);
      this.head = 0;
    }
    return t;
  }

  /** Resolves with a claimed result, or null after timeoutMs or when the returned abort is called. */
  poll<R>(claim: Claim<T, R>, timeoutMs: number): { result: Promise<R | null>; abort: () => void } {
    for (let t = this.shift(); t !== undefined; t = this.shift()) {
      const r = claim(t);
      if (r !== null) return { result: Promise.resolve(r), abort: () => {} };
    }
    let resolve!: (r: R | null) => void;
    const result = new Promise<R | null>((res) => {
      resolve = res;
    });
    let timer: NodeJS.Timeout | undefined;
    const poller: Poller<T> = {
      done: false,
      offer: (ticket) => {
        const r = claim(ticket);
        if (r === null) return false;
        poller.done = true;
        clearTimeout(timer);
        resolve(r);
        return true;
      },
      finish: () => {
        if (poller.done) return;
        poller.done = true;
        clearTimeout(timer);
        const i = this.pollers.indexOf(poller);
        if (i >= 0) this.pollers.splice(i, 1);
        resolve(null);
      },
    };
    timer = setTimeout(poller.finish, Math.max(0, timeoutMs));
    this.pollers.push(poller);
    return { result, abort: poller.finish };
  }

  releaseAll(): void {
    for (const p of [...this.pollers]) p.finish();
    this.pollers = [];
  }
}
