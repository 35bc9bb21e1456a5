// Building history events and appending them to a run, honouring the "buffer while a workflow task
// is in flight" rule: events from outside arrive after the in-flight task's completion events.
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
  ev.eventId = run.history.length + 1;
  const a = attrsOf(ev);
  // Completion events buffered together with their started event point back at it.
  if (a.startedEventId === -1) a.startedEventId = ev.eventId - 1;
  if (ev.eventType === EventType.CHILD_WORKFLOW_EXECUTION_STARTED) {
    const child = run.children.get(a.initiatedEventId);
    if (child) child.startedEventId = ev.eventId;
  }
  run.history.push(ev);
  return ev;
}

export function lastEventId(run: Run): number {
  return run.history.length;
}

/** Moves buffered events into history (after a workflow task closed). */
export function flushBuffered(run: Run): boolean {
  if (run.buffered.length === 0) return false;
  for (const ev of run.buffered) append(run, ev);
  run.buffered = [];
  return true;
}

export const isWftStarted = (run: Run): boolean => run.wft !== null && run.wft.startedEventId > 0;
