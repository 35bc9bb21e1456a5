// Search attribute registry per namespace: system attributes, custom ones registered with
// --search-attribute or OperatorService.AddSearchAttributes, and payload decoding for visibility.
import type { NamespaceState } from './engine.ts';
import { invalidArgument } from './errors.ts';
import type { Payload } from './model.ts';
import { IndexedValueType, IndexedValueTypeName } from './proto.ts';

export const SYSTEM_ATTRIBUTES: Record<string, number> = {
  WorkflowId: IndexedValueType.KEYWORD!,
  RunId: IndexedValueType.KEYWORD!,
  WorkflowType: IndexedValueType.KEYWORD!,
  ExecutionStatus: IndexedValueType.KEYWORD!,
  StartTime: IndexedValueType.DATETIME!,
  CloseTime: IndexedValueType.DATETIME!,
  ExecutionTime: IndexedValueType.DATETIME!,
  ExecutionDuration: IndexedValueType.INT!,
  TaskQueue: IndexedValueType.KEYWORD!,
  HistoryLength: IndexedValueType.INT!,
  TemporalChangeVersion: IndexedValueType.KEYWORD_LIST!,
  // Set by the server on its own workflows (schedules, batches); the UI filters them out by it.
  TemporalNamespaceDivision: IndexedValueType.KEYWORD!,
  TemporalScheduledStartTime: IndexedValueType.DATETIME!,
  TemporalScheduledById: IndexedValueType.KEYWORD!,
  TemporalSchedulePaused: IndexedValueType.BOOL!,
  BinaryChecksums: IndexedValueType.KEYWORD_LIST!,
  BuildIds: IndexedValueType.KEYWORD_LIST!,
  BatcherUser: IndexedValueType.KEYWORD!,
  ParentWorkflowId: IndexedValueType.KEYWORD!,
  RootWorkflowId: IndexedValueType.KEYWORD!,
  ParentRunId: IndexedValueType.KEYWORD!,
  RootRunId: IndexedValueType.KEYWORD!,
  HistorySizeBytes: IndexedValueType.INT!,
};

const typeByName: Record<string, number> = {
  text: IndexedValueType.TEXT!,
  keyword: IndexedValueType.KEYWORD!,
  int: IndexedValueType.INT!,
  double: IndexedValueType.DOUBLE!,
  bool: IndexedValueType.BOOL!,
  datetime: IndexedValueType.DATETIME!,
  keywordlist: IndexedValueType.KEYWORD_LIST!,
};

/** Parses "Name=Type" from --search-attribute (types as the CLI spells them, any case). */
export function parseSearchAttributeFlag(flag: string): [string, number] {
  const i = flag.indexOf('=');
  const name = i > 0 ? flag.slice(0, i) : '';
  const t =
    typeByName[
      flag
        .slice(i + 1)
        .toLowerCase()
        .replace(/[_\s]/g, '')
    ];
  if (!name || t === undefined) {
    throw new Error(
      `invalid --search-attribute "${flag}": expected Name=Type with Type one of Text, Keyword, Int, Double, Bool, Datetime, KeywordList`,
    );
  }
  return [name, t];
}

/** Name of the type as the visibility query compiler expects it. */
export function typeLabel(
  t: number,
): 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList' {
  switch (IndexedValueTypeName[t]) {
    case 'TEXT':
      return 'Text';
    case 'INT':
      return 'Int';
    case 'DOUBLE':
      return 'Double';
    case 'BOOL':
      return 'Bool';
    case 'DATETIME':
      return 'Datetime';
    case 'KEYWORD_LIST':
      return 'KeywordList';
    default:
      return 'Keyword';
  }
}

/**
 * Search attributes as the server returns them (describe, visibility): each payload carries its registered
 * type in `metadata.type`, which typed clients (the SDK's `typedSearchAttributes`) need to read it.
 */
export function withTypeMetadata(
  ns: NamespaceState,
  fields: Record<string, Payload>,
): Record<string, Payload> {
  const out: Record<string, Payload> = {};
  for (const [name, payload] of Object.entries(fields)) {
    const t = ns.searchAttributes.get(name) ?? SYSTEM_ATTRIBUTES[name];
    out[name] =
      t === undefined || payload.metadata?.type
        ? payload
        : { ...payload, metadata: { ...payload.metadata, type: Buffer.from(typeLabel(t)) } };
  }
  return out;
}

export function validateSearchAttributes(
  ns: NamespaceState,
  fields: Record<string, unknown> | undefined,
): void {
  for (const name of Object.keys(fields ?? {})) {
    if (SYSTEM_ATTRIBUTES[name] === undefined && !ns.searchAttributes.has(name)) {
      throw invalidArgument(
        `search attribute ${name} is not defined in namespace ${ns.name}; register it with --search-attribute ${name}=Keyword (dev server) or OperatorService.AddSearchAttributes`,
      );
    }
  }
}

export function decodePayload(p: Payload | undefined): unknown {
  if (!p?.data) return undefined;
  try {
    return JSON.parse(Buffer.from(p.data).toString('utf8'));
  } catch {
    return undefined;
  }
}
