// WorkflowService schedule RPCs: CreateSchedule, DescribeSchedule, UpdateSchedule, PatchSchedule,
// DeleteSchedule, ListSchedules, CountSchedules, ListScheduleMatchingTimes.
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import type { Handlers } from './grpc-server.ts';
import type { Obj } from './model.ts';
import { ts } from './model.ts';
import { page, VISIBILITY_MAX_PAGE } from './paging.ts';
import type { ScheduleRecord, Schedules } from './schedules.ts';
import { SYSTEM_ATTRIBUTES, typeLabel } from './search-attributes.ts';
import { compileVisibilityQuery } from './visibility/query.ts';

export function scheduleHandlers(engine: Engine, schedules: Schedules): Handlers {
  const ns = (req: Obj): string => {
    engine.namespace(req.namespace);
    return req.namespace as string;
  };
  const matching = (namespace: string, query: string): ScheduleRecord[] => {
    const types: Record<string, ReturnType<typeof typeLabel>> = { ScheduleId: 'Keyword' };
    for (const [k, v] of Object.entries(SYSTEM_ATTRIBUTES)) types[k] = typeLabel(v);
    for (const [k, v] of engine.namespace(namespace).searchAttributes) types[k] = typeLabel(v);
    let q: ReturnType<typeof compileVisibilityQuery>;
    try {
      q = compileVisibilityQuery(query, types);
    } catch (err) {
      throw invalidArgument(`invalid schedule query "${query}": ${(err as Error).message}`);
    }
    const rows = schedules.list(namespace).map((r) => ({ r, rec: schedules.visibilityRecord(r) }));
    return rows
      .filter((x) => q.matches(x.rec))
      .sort((a, b) => a.r.scheduleId.localeCompare(b.r.scheduleId))
      .map((x) => x.r);
  };
  return {
    CreateSchedule: (req) => {
      ns(req);
      return schedules.create(req);
    },
    DescribeSchedule: (req) => schedules.describe(ns(req), req.scheduleId),
    UpdateSchedule: (req) => {
      ns(req);
      schedules.update(req);
      return {};
    },
    PatchSchedule: (req) => {
      ns(req);
      schedules.patch(req);
      return {};
    },
    DeleteSchedule: (req) => {
      schedules.delete(ns(req), req.scheduleId);
      return {};
    },
    ListScheduleMatchingTimes: (req) => ({
      startTime: schedules.matchingTimes(ns(req), req.scheduleId, req.startTime, req.endTime).map(ts),
    }),
    ListSchedules: (req) => {
      const { rows, nextPageToken } = page(
        matching(ns(req), req.query ?? ''),
        req.maximumPageSize,
        req.nextPageToken,
        VISIBILITY_MAX_PAGE,
      );
      return {
        schedules: rows.map((r) => ({
          scheduleId: r.scheduleId,
          ...(r.memo ? { memo: { fields: r.memo } } : {}),
          searchAttributes: { indexedFields: schedules.visibleAttributes(r) },
          info: schedules.listInfo(r),
        })),
        nextPageToken,
      };
    },
    CountSchedules: (req) => ({ count: matching(ns(req), req.query ?? '').length }),
  };
}
