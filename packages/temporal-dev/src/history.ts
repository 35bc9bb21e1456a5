// Building history events and appending them to a run, honouring the "buffer while a workflow task
// is in flight" rule: events from outside arrive after the in-flight task's completion events.
// A run keeps in memory only its last events (`tail`: not yet committed, or recent while it is busy);
// the rest are read from its event log (sqlite-store.ts) when a task, a history page or a reset needs them.
import type { Clock } from './clock.ts';
import type { Obj, Run } from './model.ts';
import { ts } from './model.ts';
import { EventType } from './proto.ts';

const attrField = new Map<number, string>();
for (const [name, value] of Object.entries(EventType)) {
  const camel = name.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  attrField.set(value, `${camel}EventAttributes`);
}

let taskIdSeq = 1;

/** Where a run's committed events live, and who is told that a run changed. */
export interface EventLog {
  changed(run: Run): void;
  /** Events from..to (inclusive) that were committed. */
  read(runId: string, from: number, to: number): Obj[];
}

const logs = new WeakMap<Run, EventLog>();

export function attachLog(run: Run, log: EventLog): void {
  logs.set(run, log);
}

export function makeEvent(clock: Clock, type: number, attrs: Obj): Obj {
  return {
    eventId: 0,
    eventTime: ts(clock.now()),
    eventType: type,
    taskId: taskIdSeq++,
    [attrField.get(type)!]: attrs,
  };
}

export function attrsOf(ev: Obj): Obj {
  return ev[attrField.get(ev.eventType)!] ?? {};
}

/** Appends directly, assigning the next event id. */
export function append(run: Run, ev: Obj): Obj {
  ev.eventId = run.historyLength + 1;
  const a = attrsOf(ev);
  // Completion events buffered together with their started event point back at it.
  if (a.startedEventId === -1) a.startedEventId = ev.eventId - 1;
  if (ev.eventType === EventType.CHILD_WORKFLOW_EXECUTION_STARTED) {
    const child = run.children.get(a.initiatedEventId);
    if (child) child.startedEventId = ev.eventId;
  }
  run.tail.push(ev);
  run.historyLength = ev.eventId;
  logs.get(run)?.changed(run);
  return ev;
}

export function lastEventId(run: Run): number {
  return run.historyLength;
}

/** Events from..to (inclusive, clamped to the history): committed ones from the log, then the rest. */
export function events(run: Run, from = 1, to = run.historyLength): Obj[] {
  const last = Math.min(to, run.historyLength);
  if (from > last) return [];
  const firstInMemory = run.historyLength - run.tail.length + 1;
  const out: Obj[] = [];
  if (from < firstInMemory) {
    const log = logs.get(run);
    if (log) out.push(...log.read(run.runId, from, Math.min(last, firstInMemory - 1)));
  }
  if (last >= firstInMemory) {
    out.push(...run.tail.slice(Math.max(0, from - firstInMemory), last - firstInMemory + 1));
  }
  return out;
}

export function eventAt(run: Run, eventId: number): Obj | undefined {
  return events(run, eventId, eventId)[0];
}

export function lastEvent(run: Run): Obj | undefined {
  return eventAt(run, run.historyLength);
}

/** Moves buffered events into history (after a workflow task closed). */
export function flushBuffered(run: Run): boolean {
  if (run.buffered.length === 0) return false;
  for (const ev of run.buffered) append(run, ev);
  run.buffered = [];
  return true;
}

export const isWftStarted = (run: Run): boolean => run.wft !== null && run.wft.startedEventId > 0;
