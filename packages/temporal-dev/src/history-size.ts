// A run's history size as the real server counts it (the bytes of its serialized events), and its
// continue-as-new suggestion at the server's thresholds (limit.historyCount / limit.historySize
// .suggestContinueAsNew, limits.ts). Each event is encoded once; the running total lives beside the run.
import { events } from './history.ts';
import { limits } from './limits.ts';
import type { Run } from './model.ts';
import { encode, messageType } from './proto.ts';

const totals = new WeakMap<Run, { through: number; bytes: number }>();

/** Bytes of one event as a History message holds it: tag, length and the encoded event. */
function eventBytes(ev: object): number {
  const n = encode(messageType('temporal.api.history.v1.HistoryEvent'), ev).length;
  let varint = 1;
  for (let v = n; v >= 0x80; v >>>= 7) varint++;
  return 1 + varint + n;
}

/** The serialized size of the run's history so far. */
export function historySizeBytes(run: Run): number {
  let t = totals.get(run);
  if (!t || t.through > run.historyLength) t = { through: 0, bytes: 0 };
  if (t.through < run.historyLength) {
    for (const ev of events(run, t.through + 1, run.historyLength)) t.bytes += eventBytes(ev);
    t.through = run.historyLength;
  }
  totals.set(run, t);
  return t.bytes;
}

/** What a WorkflowTaskStarted event tells the worker about its history. */
export function historyStats(run: Run): { historySizeBytes: number; suggestContinueAsNew: boolean } {
  const bytes = historySizeBytes(run);
  const count = run.historyLength;
  const suggest =
    (limits.historyCountSuggestContinueAsNew > 0 && count >= limits.historyCountSuggestContinueAsNew) ||
    (limits.historySizeSuggestContinueAsNew > 0 && bytes >= limits.historySizeSuggestContinueAsNew);
  return { historySizeBytes: bytes, suggestContinueAsNew: suggest };
}
