// Where schedules are kept. The server's SQLite store keeps them durably (a row per schedule); without
// one they live in memory for the life of the process.
import { deserialize, serialize } from 'node:v8';
import type { ScheduleRecord } from './schedules.ts';

export interface ScheduleStore {
  /** Every saved schedule (at start). */
  load(): ScheduleRecord[];
  /** Written before the RPC that changed the schedule answers. */
  save(record: ScheduleRecord): void;
  remove(namespace: string, scheduleId: string): void;
}

export function memoryScheduleStore(): ScheduleStore {
  return { load: () => [], save: () => {}, remove: () => {} };
}

/** A row as a JSON record store keeps it: the schedule's key and the record (payload bytes and all) in v8 form. */
export interface ScheduleRow {
  namespace: string;
  scheduleId: string;
  v8: string;
}

interface RowStore {
  load(): ScheduleRow[];
  save(row: ScheduleRow): void;
  remove(namespace: string, id: string): void;
}

/** Schedules in a JSON record store (sqlite-store.ts `recordStore('schedules', …)`), bytes intact. */
export function rowScheduleStore(rows: RowStore): ScheduleStore {
  return {
    load: () => rows.load().map((r) => deserialize(Buffer.from(r.v8, 'base64')) as ScheduleRecord),
    save: (record) =>
      rows.save({
        namespace: record.namespace,
        scheduleId: record.scheduleId,
        v8: serialize(record).toString('base64'),
      }),
    remove: (ns, id) => rows.remove(ns, id),
  };
}
