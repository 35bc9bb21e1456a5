// Shapes shared by the visibility query parser, evaluator and the dev server's visibility store.

export type SearchAttributeKind = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export const SEARCH_ATTRIBUTE_KINDS: readonly SearchAttributeKind[] = [
  'Keyword',
  'Text',
  'Int',
  'Double',
  'Bool',
  'Datetime',
  'KeywordList',
];

/** Execution status names as they appear in list filters, in the order of the proto enum (1..7). */
export const EXECUTION_STATUSES = [
  'Running',
  'Completed',
  'Failed',
  'Canceled',
  'Terminated',
  'ContinuedAsNew',
  'TimedOut',
] as const;

export type ExecutionStatusName = (typeof EXECUTION_STATUSES)[number];

/** What the visibility store keeps per workflow run; queries are evaluated against it. */
export interface VisibilityRecord {
  WorkflowId: string;
  WorkflowType: string;
  RunId: string;
  ExecutionStatus: ExecutionStatusName;
  StartTime: Date;
  CloseTime?: Date;
  ExecutionTime?: Date;
  TaskQueue: string;
  /** Events in the run's history. */
  HistoryLength?: number;
  /** Set for a child workflow. */
  ParentWorkflowId?: string;
  /** The first workflow of the parent chain (the run's own id when it has no parent). */
  RootWorkflowId?: string;
  /** The parent's run, and the run at the top of the chain (the run's own id without a parent). */
  ParentRunId?: string;
  RootRunId?: string;
  /** Bytes of the run's serialized history (history-size.ts). */
  HistorySizeBytes?: number;
  /** Closed runs: close time minus execution time, in nanoseconds (unset while running). */
  ExecutionDuration?: bigint;
  /**
   * Custom (and extra system) search attributes, decoded: string for Keyword/Text, bigint or integer
   * number for Int, number for Double, boolean for Bool, Date for Datetime, string[] for KeywordList.
   */
  searchAttributes: Record<string, unknown>;
}

export interface CompiledQuery {
  /** True only when the filter evaluates to true (SQL semantics: a missing attribute never compares). */
  matches(record: VisibilityRecord): boolean;
  /** Sort comparator for ORDER BY; default `CloseTime DESC NULLS FIRST, StartTime DESC` like Temporal. */
  compare: (a: VisibilityRecord, b: VisibilityRecord) => number;
  /** True when the query had an explicit ORDER BY clause. */
  readonly hasOrderBy: boolean;
  /** GROUP BY attribute names (only `ExecutionStatus` is accepted); empty without GROUP BY. */
  readonly groupBy: readonly string[];
}
