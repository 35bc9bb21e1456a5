// Where schedules are kept. The server's storage layer provides a durable one; without it they live in
// memory for the life of the process.
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
