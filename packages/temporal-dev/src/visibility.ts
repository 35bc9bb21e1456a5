// List / count over runs using the visibility query compiler (visibility/query.ts).
import type { Engine } from './engine.ts';
import { invalidArgument } from './errors.ts';
import { lastEventId } from './history.ts';
import { historySizeBytes } from './history-size.ts';
import type { Run } from './model.ts';
import { ExecStatus } from './proto.ts';
import { decodePayload, SYSTEM_ATTRIBUTES, typeLabel } from './search-attributes.ts';
import { compileVisibilityQuery, EXECUTION_STATUSES, VisibilityQueryError } from './visibility/query.ts';
import type { VisibilityRecord } from './visibility/types.ts';

export class Visibility {
  private readonly engine: Engine;
  /**
   * Entries that are not runs (schedules: set by server.ts). Only a query on TemporalNamespaceDivision
   * sees them, as the server's own workflows are hidden from other queries; Temporal UI counts
   * schedules that way.
   */
  extraRecords: (ns: string) => VisibilityRecord[] = () => [];
  constructor(engine: Engine) {
    this.engine = engine;
  }

  private compile(ns: string, query: string) {
    const types: Record<string, ReturnType<typeof typeLabel>> = {};
    for (const [k, v] of Object.entries(SYSTEM_ATTRIBUTES)) types[k] = typeLabel(v);
    for (const [k, v] of this.engine.namespace(ns).searchAttributes) types[k] = typeLabel(v);
    try {
      return compileVisibilityQuery(query, types);
    } catch (err) {
      if (err instanceof VisibilityQueryError || err instanceof Error) {
        throw invalidArgument(`invalid visibility query "${query}": ${err.message}`);
      }
      throw err;
    }
  }

  private record(run: Run): VisibilityRecord {
    const root = this.root(run);
    const sa: Record<string, unknown> = {};
    const types = this.engine.namespace(run.ns).searchAttributes;
    for (const [k, p] of Object.entries(run.searchAttributes)) {
      let v = decodePayload(p);
      const t = typeLabel(types.get(k) ?? SYSTEM_ATTRIBUTES[k] ?? 0);
      if (t === 'Datetime' && typeof v === 'string') v = new Date(v);
      if (t === 'KeywordList' && typeof v === 'string') v = [v];
      if (t !== 'KeywordList' && Array.isArray(v) && v.length === 1) v = v[0];
      if (t === 'Datetime' && Array.isArray(v) && typeof v[0] === 'string') v = new Date(v[0]);
      sa[k] = v;
    }
    return {
      WorkflowId: run.workflowId,
      WorkflowType: run.workflowType,
      RunId: run.runId,
      ExecutionStatus: EXECUTION_STATUSES[run.status - 1] ?? 'Running',
      StartTime: new Date(run.startTime),
      CloseTime: run.status !== ExecStatus.RUNNING ? new Date(run.closeTime) : undefined,
      ExecutionTime: new Date(run.executionTime),
      TaskQueue: run.taskQueue,
      HistoryLength: lastEventId(run),
      // Read only by a query that names it: an idle run's size may mean reading its events once.
      get HistorySizeBytes() {
        return historySizeBytes(run);
      },
      ParentWorkflowId: run.parent?.workflowId,
      ParentRunId: run.parent?.runId,
      RootWorkflowId: root.workflowId,
      RootRunId: root.runId,
      ExecutionDuration:
        run.status !== ExecStatus.RUNNING
          ? BigInt(Math.max(0, run.closeTime - run.executionTime)) * 1_000_000n
          : undefined,
      searchAttributes: sa,
    };
  }

  /** The top of the run's parent chain, as far as its runs are still known. */
  private root(run: Run): { workflowId: string; runId: string } {
    let top = run;
    for (let depth = 0; top.parent && depth < 1000; depth++) {
      const parent = this.engine.runs.get(top.parent.runId);
      if (!parent) return { workflowId: top.parent.workflowId, runId: top.parent.runId };
      top = parent;
    }
    return { workflowId: top.workflowId, runId: top.runId };
  }

  private matching(ns: string, query: string): Array<{ run: Run; rec: VisibilityRecord }> {
    const q = this.compile(ns, query);
    const out: Array<{ run: Run; rec: VisibilityRecord }> = [];
    for (const run of this.engine.runs.values()) {
      if (run.ns !== ns) continue;
      const rec = this.record(run);
      if (q.matches(rec)) out.push({ run, rec });
    }
    out.sort((a, b) => q.compare(a.rec, b.rec));
    return out;
  }

  list(ns: string, query: string): Run[] {
    return this.matching(ns, query).map((x) => x.run);
  }

  count(ns: string, query: string): { count: number; groups?: unknown[] } {
    const m = /\s+group\s+by\s+ExecutionStatus\s*$/i.exec(query);
    if (m) {
      const rows = this.matching(ns, query.slice(0, m.index));
      const counts = new Map<number, number>();
      for (const { run } of rows) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
      return {
        count: rows.length,
        groups: [...counts].map(([status, count]) => ({
          groupValues: [
            {
              metadata: { encoding: Buffer.from('json/plain') },
              data: Buffer.from(JSON.stringify(EXECUTION_STATUSES[status - 1])),
            },
          ],
          count,
        })),
      };
    }
    const extra = /TemporalNamespaceDivision/.test(query)
      ? this.extraRecords(ns).filter((r) => this.compile(ns, query).matches(r)).length
      : 0;
    return { count: this.matching(ns, query).length + extra };
  }
}
