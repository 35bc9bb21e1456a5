import { VisibilityQueryError } from './errors.ts';
import { type AttributeRef, type FilterNode, type PredicateNode, parseVisibilityQuery } from './parser.ts';
import type { CompiledQuery, SearchAttributeKind, VisibilityRecord } from './types.ts';
import {
  type AttributeKind,
  coerceLiteral,
  compareScalars,
  normalizeStored,
  type Scalar,
  textTokens,
} from './values.ts';

export { VisibilityQueryError } from './errors.ts';
export type {
  CompiledQuery,
  ExecutionStatusName,
  SearchAttributeKind,
  VisibilityRecord,
} from './types.ts';
export { EXECUTION_STATUSES, SEARCH_ATTRIBUTE_KINDS } from './types.ts';

// Compiles a Temporal list filter ("visibility query") into a predicate and a comparator over
// in-memory visibility records. Semantics follow Temporal's SQL visibility store:
// - a condition on a missing attribute is UNKNOWN, and NOT UNKNOWN stays UNKNOWN (three-valued
//   logic), so `X != 'a'` does not match runs without X; use `X IS NULL` to find those;
// - KeywordList `=` means "contains", IN means "contains any of";
// - Text `=` matches when any word of the value equals any word of the stored text;
// - Datetime literals are RFC3339 strings compared as instants (nanosecond precision);
// - default order is CloseTime DESC with running executions first, then StartTime DESC.

/** Three-valued truth: null is SQL's UNKNOWN. */
type Truth = boolean | null;
type Evaluator = (record: VisibilityRecord) => Truth;

interface AttributeInfo {
  kind: AttributeKind;
  read: (record: VisibilityRecord) => unknown;
}

const SYSTEM_ATTRIBUTES: Record<string, AttributeInfo> = {
  WorkflowId: { kind: 'Keyword', read: (r) => r.WorkflowId },
  WorkflowType: { kind: 'Keyword', read: (r) => r.WorkflowType },
  RunId: { kind: 'Keyword', read: (r) => r.RunId },
  TaskQueue: { kind: 'Keyword', read: (r) => r.TaskQueue },
  ExecutionStatus: { kind: 'ExecutionStatus', read: (r) => r.ExecutionStatus },
  StartTime: { kind: 'Datetime', read: (r) => r.StartTime },
  CloseTime: { kind: 'Datetime', read: (r) => r.CloseTime },
  ExecutionTime: { kind: 'Datetime', read: (r) => r.ExecutionTime },
  HistoryLength: { kind: 'Int', read: (r) => r.HistoryLength },
  ParentWorkflowId: { kind: 'Keyword', read: (r) => r.ParentWorkflowId },
  RootWorkflowId: { kind: 'Keyword', read: (r) => r.RootWorkflowId },
  ParentRunId: { kind: 'Keyword', read: (r) => r.ParentRunId },
  RootRunId: { kind: 'Keyword', read: (r) => r.RootRunId },
  HistorySizeBytes: { kind: 'Int', read: (r) => r.HistorySizeBytes },
  ExecutionDuration: { kind: 'Duration', read: (r) => r.ExecutionDuration },
};

const ORDERED_KINDS: ReadonlySet<AttributeKind> = new Set([
  'Keyword',
  'Int',
  'Double',
  'Datetime',
  'Duration',
]);

export function compileVisibilityQuery(
  query: string,
  attributeTypes: Record<string, SearchAttributeKind>,
): CompiledQuery {
  const parsed = parseVisibilityQuery(query);
  const resolve = attributeResolver(attributeTypes);
  const evaluate = parsed.filter ? compileNode(parsed.filter, resolve) : () => true;

  for (const attribute of parsed.groupBy) {
    resolve(attribute);
    if (attribute.name !== 'ExecutionStatus') {
      throw new VisibilityQueryError(
        `cannot GROUP BY "${attribute.name}"`,
        attribute.pos,
        'GROUP BY supports only ExecutionStatus (in CountWorkflowExecutions)',
      );
    }
  }
  if (parsed.groupBy.length > 0 && parsed.orderBy.length > 0) {
    throw new VisibilityQueryError(
      'GROUP BY cannot be combined with ORDER BY',
      parsed.orderBy[0]!.attribute.pos,
    );
  }

  const keys: SortKey[] = parsed.orderBy.map(({ attribute, descending }) => {
    const info = resolve(attribute);
    if (!ORDERED_KINDS.has(info.kind) && info.kind !== 'ExecutionStatus' && info.kind !== 'Bool') {
      throw new VisibilityQueryError(
        `cannot ORDER BY ${info.kind} attribute "${attribute.name}"`,
        attribute.pos,
        'order by a Keyword, Int, Double, Bool or Datetime attribute',
      );
    }
    return sortKey(info, descending);
  });
  if (keys.length === 0) {
    keys.push(sortKey(SYSTEM_ATTRIBUTES.CloseTime!, true), sortKey(SYSTEM_ATTRIBUTES.StartTime!, true));
  }
  // RunId last so that paging through equal keys is stable.
  keys.push(sortKey(SYSTEM_ATTRIBUTES.RunId!, false));

  return {
    matches: (record) => evaluate(record) === true,
    compare: (a, b) => {
      for (const key of keys) {
        const c = key(a, b);
        if (c !== 0) return c;
      }
      return 0;
    },
    hasOrderBy: parsed.orderBy.length > 0,
    groupBy: parsed.groupBy.map((a) => a.name),
  };
}

function attributeResolver(
  attributeTypes: Record<string, SearchAttributeKind>,
): (ref: AttributeRef) => AttributeInfo {
  return (ref) => {
    const system = Object.hasOwn(SYSTEM_ATTRIBUTES, ref.name) ? SYSTEM_ATTRIBUTES[ref.name] : undefined;
    if (system) return system;
    if (Object.hasOwn(attributeTypes, ref.name)) {
      const kind = attributeTypes[ref.name]!;
      const name = ref.name;
      return { kind, read: (r) => r.searchAttributes[name] };
    }
    const known = [...new Set([...Object.keys(SYSTEM_ATTRIBUTES), ...Object.keys(attributeTypes)])].sort();
    const sameButCase = known.find((k) => k.toLowerCase() === ref.name.toLowerCase());
    throw new VisibilityQueryError(
      `unknown search attribute "${ref.name}"`,
      ref.pos,
      `${sameButCase ? `names are case-sensitive: did you mean "${sameButCase}"? ` : ''}known: ${known.join(', ')}`,
    );
  };
}

type SortKey = (a: VisibilityRecord, b: VisibilityRecord) => number;

/** Missing values sort as if larger than any value: last ascending, first descending. */
function sortKey(info: AttributeInfo, descending: boolean): SortKey {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const va = normalizeStored(info.kind, info.read(a)) as Scalar | null;
    const vb = normalizeStored(info.kind, info.read(b)) as Scalar | null;
    if (va === null || vb === null) return va === vb ? 0 : (va === null ? 1 : -1) * sign;
    return compareScalars(va, vb) * sign;
  };
}

function compileNode(node: FilterNode, resolve: (ref: AttributeRef) => AttributeInfo): Evaluator {
  switch (node.type) {
    case 'and': {
      const left = compileNode(node.left, resolve);
      const right = compileNode(node.right, resolve);
      return (r) => {
        const a = left(r);
        if (a === false) return false;
        const b = right(r);
        if (b === false) return false;
        return a === true && b === true ? true : null;
      };
    }
    case 'or': {
      const left = compileNode(node.left, resolve);
      const right = compileNode(node.right, resolve);
      return (r) => {
        const a = left(r);
        if (a === true) return true;
        const b = right(r);
        if (b === true) return true;
        return a === false && b === false ? false : null;
      };
    }
    case 'not': {
      const operand = compileNode(node.operand, resolve);
      return (r) => {
        const v = operand(r);
        return v === null ? null : !v;
      };
    }
    default:
      return compilePredicate(node, resolve(node.attribute));
  }
}

function compilePredicate(node: PredicateNode, info: AttributeInfo): Evaluator {
  const { kind, read } = info;
  const name = node.attribute.name;

  if (node.type === 'isNull') {
    return (r) => (normalizeStored(kind, read(r)) === null) !== node.negated;
  }

  const unsupported = (operator: string, pos: number, hint: string): never => {
    throw new VisibilityQueryError(
      `operator ${operator} is not supported for ${kind} attribute "${name}"`,
      pos,
      hint,
    );
  };
  const negate = (test: (value: never) => boolean, negated: boolean): Evaluator => {
    return (r) => {
      const value = normalizeStored(kind, read(r));
      if (value === null) return null;
      return test(value as never) !== negated;
    };
  };

  if (node.type === 'startsWith') {
    if (node.value.kind !== 'string') {
      throw new VisibilityQueryError(
        'operator STARTS_WITH needs a string',
        node.value.pos,
        "write the prefix in quotes, e.g. STARTS_WITH 'payout-'",
      );
    }
    const prefix = node.value.value;
    if (kind === 'Keyword') return negate((v: string) => v.startsWith(prefix), node.negated);
    if (kind === 'KeywordList') {
      return negate((v: string[]) => v.some((e) => e.startsWith(prefix)), node.negated);
    }
    return unsupported('STARTS_WITH', node.pos, 'STARTS_WITH works on Keyword attributes');
  }

  if (node.type === 'in') {
    if (kind === 'Text') {
      return unsupported(node.negated ? 'NOT IN' : 'IN', node.pos, 'use = with OR for Text');
    }
    const wanted = new Set(node.values.map((l) => coerceLiteral(kind, l, name)));
    if (kind === 'KeywordList') return negate((v: string[]) => v.some((e) => wanted.has(e)), node.negated);
    return negate((v: Scalar) => wanted.has(v), node.negated);
  }

  if (node.type === 'between') {
    if (!ORDERED_KINDS.has(kind)) {
      return unsupported('BETWEEN', node.pos, 'BETWEEN works on Keyword, Int, Double and Datetime');
    }
    const low = coerceLiteral(kind, node.low, name);
    const high = coerceLiteral(kind, node.high, name);
    return negate((v: Scalar) => compareScalars(v, low) >= 0 && compareScalars(v, high) <= 0, node.negated);
  }

  // Comparison operators.
  const { operator } = node;
  const isEquality = operator === '=' || operator === '!=';
  if (kind === 'Text') {
    if (!isEquality) return unsupported(operator, node.pos, 'Text supports = and != (word match)');
    const words = new Set(textTokens(coerceLiteral(kind, node.value, name) as string));
    return negate((v: string) => textTokens(v).some((t) => words.has(t)), operator === '!=');
  }
  if (kind === 'KeywordList') {
    if (!isEquality) return unsupported(operator, node.pos, 'KeywordList supports =, !=, IN');
    const element = coerceLiteral(kind, node.value, name);
    return negate((v: string[]) => v.includes(element as string), operator === '!=');
  }
  if (!isEquality && !ORDERED_KINDS.has(kind)) {
    return unsupported(operator, node.pos, `${kind} supports = and !=`);
  }
  const expected = coerceLiteral(kind, node.value, name);
  const test = comparisonTest(operator, expected);
  return negate(test, false);
}

function comparisonTest(operator: string, expected: Scalar): (v: Scalar) => boolean {
  switch (operator) {
    case '=':
      return (v) => v === expected;
    case '!=':
      return (v) => v !== expected;
    case '>':
      return (v) => compareScalars(v, expected) > 0;
    case '>=':
      return (v) => compareScalars(v, expected) >= 0;
    case '<':
      return (v) => compareScalars(v, expected) < 0;
    default:
      return (v) => compareScalars(v, expected) <= 0;
  }
}
