import { describe, expect, it } from '@jest/globals';
import {
  compileVisibilityQuery,
  type SearchAttributeKind,
  VisibilityQueryError,
  type VisibilityRecord,
} from '../../src/visibility/query.ts';

const TYPES: Record<string, SearchAttributeKind> = {
  PayeeId: 'Keyword',
  PayoutState: 'Keyword',
  PayoutAmount: 'Int',
  FxRate: 'Double',
  Instant: 'Bool',
  DueAt: 'Datetime',
  Tags: 'KeywordList',
  Note: 'Text',
};

function record(id: string, fields: Partial<VisibilityRecord> = {}): VisibilityRecord {
  return {
    WorkflowId: id,
    WorkflowType: 'payoutWorkflow',
    RunId: `run-${id}`,
    ExecutionStatus: 'Running',
    StartTime: new Date('2026-01-01T00:00:00Z'),
    TaskQueue: 'payouts',
    searchAttributes: {},
    ...fields,
  };
}

// A small population covering every kind, missing values, and closed/running runs.
const RECORDS: VisibilityRecord[] = [
  record('p-1', {
    StartTime: new Date('2026-01-01T10:00:00Z'),
    searchAttributes: {
      PayeeId: 'payee-1',
      PayoutState: 'paid',
      PayoutAmount: 1500n,
      FxRate: 1.25,
      Instant: true,
      DueAt: new Date('2026-02-01T00:00:00Z'),
      Tags: ['vip', 'eu'],
      Note: 'Paid via sandbox-instant rail',
    },
    ExecutionStatus: 'Completed',
    CloseTime: new Date('2026-01-01T10:05:00Z'),
  }),
  record('p-2', {
    StartTime: new Date('2026-01-02T10:00:00Z'),
    searchAttributes: {
      PayeeId: 'payee-2',
      PayoutState: 'held',
      PayoutAmount: 25,
      FxRate: 0.9,
      Instant: false,
    },
  }),
  record('p-3', {
    StartTime: new Date('2026-01-03T10:00:00Z'),
    ExecutionStatus: 'Failed',
    CloseTime: new Date('2026-01-03T11:00:00Z'),
    searchAttributes: { PayeeId: 'payee-10', PayoutAmount: -7n, Tags: ['us'], Note: 'provider declined' },
  }),
  record('period-4', { WorkflowType: 'periodCloseWorkflow', StartTime: new Date('2026-01-04T10:00:00Z') }),
];

function ids(query: string): string[] {
  const compiled = compileVisibilityQuery(query, TYPES);
  return RECORDS.filter((r) => compiled.matches(r))
    .map((r) => r.WorkflowId)
    .sort();
}

describe('compileVisibilityQuery: filtering', () => {
  const cases: Array<[string, string[]]> = [
    ['', ['p-1', 'p-2', 'p-3', 'period-4']],
    ['   ', ['p-1', 'p-2', 'p-3', 'period-4']],
    ["WorkflowType = 'payoutWorkflow'", ['p-1', 'p-2', 'p-3']],
    ['WorkflowType = "periodCloseWorkflow"', ['period-4']],
    ["WorkflowId != 'p-1'", ['p-2', 'p-3', 'period-4']],
    ["WorkflowId STARTS_WITH 'p-'", ['p-1', 'p-2', 'p-3']],
    ["WorkflowId NOT STARTS_WITH 'p-'", ['period-4']],
    ["RunId = 'run-p-2'", ['p-2']],
    ["TaskQueue = 'payouts'", ['p-1', 'p-2', 'p-3', 'period-4']],
    ["ExecutionStatus = 'Running'", ['p-2', 'period-4']],
    ["ExecutionStatus = 'running'", ['p-2', 'period-4']],
    ["ExecutionStatus IN ('Completed', 'Failed')", ['p-1', 'p-3']],
    ["ExecutionStatus NOT IN ('Running')", ['p-1', 'p-3']],
    ["ExecutionStatus != 'Running'", ['p-1', 'p-3']],
    ['ExecutionStatus = 3', ['p-3']],
    ['ExecutionStatus IN (1, 2)', ['p-1', 'p-2', 'period-4']],
    // Datetime: instants, any offset, nanosecond fractions.
    ["StartTime > '2026-01-02T10:00:00Z'", ['p-3', 'period-4']],
    ["StartTime >= '2026-01-02T10:00:00Z'", ['p-2', 'p-3', 'period-4']],
    ["StartTime >= '2026-01-02T11:00:00+01:00'", ['p-2', 'p-3', 'period-4']],
    ["StartTime > '2026-01-02T10:00:00.000000001Z'", ['p-3', 'period-4']],
    ["StartTime < '2026-01-02T10:00:00Z'", ['p-1']],
    ["StartTime <= '2026-01-02T10:00:00Z'", ['p-1', 'p-2']],
    ["StartTime BETWEEN '2026-01-02T00:00:00Z' AND '2026-01-03T10:00:00Z'", ['p-2', 'p-3']],
    ["StartTime NOT BETWEEN '2026-01-02T00:00:00Z' AND '2026-01-03T10:00:00Z'", ['p-1', 'period-4']],
    ["CloseTime > '2026-01-01T00:00:00Z'", ['p-1', 'p-3']],
    ['CloseTime IS NULL', ['p-2', 'period-4']],
    ['CloseTime IS NOT NULL', ['p-1', 'p-3']],
    ['ExecutionTime IS NULL', ['p-1', 'p-2', 'p-3', 'period-4']],
    // Keyword: exact, ordered lexicographically.
    ["PayeeId = 'payee-1'", ['p-1']],
    ["PayeeId IN ('payee-1', 'payee-10', 'nobody')", ['p-1', 'p-3']],
    ["PayeeId NOT IN ('payee-1')", ['p-2', 'p-3']],
    ["PayeeId STARTS_WITH 'payee-1'", ['p-1', 'p-3']],
    ["PayeeId > 'payee-1'", ['p-2', 'p-3']],
    // Missing attribute: unknown, so neither = nor != matches; IS NULL finds it.
    ["PayoutState != 'paid'", ['p-2']],
    ["NOT PayoutState = 'paid'", ['p-2']],
    ['PayoutState IS NULL', ['p-3', 'period-4']],
    // Int (bigint or number in the record).
    ['PayoutAmount = 1500', ['p-1']],
    ['PayoutAmount > 25', ['p-1']],
    ['PayoutAmount >= 25', ['p-1', 'p-2']],
    ['PayoutAmount < 0', ['p-3']],
    ['PayoutAmount <= -7', ['p-3']],
    ['PayoutAmount BETWEEN -10 AND 25', ['p-2', 'p-3']],
    ['PayoutAmount IN (25, 1500)', ['p-1', 'p-2']],
    ['PayoutAmount != 25', ['p-1', 'p-3']],
    // Double accepts integer and decimal literals.
    ['FxRate > 1', ['p-1']],
    ['FxRate <= 0.9', ['p-2']],
    ['FxRate = 1.25', ['p-1']],
    ['FxRate BETWEEN 0.5 AND 1e1', ['p-1', 'p-2']],
    // Bool.
    ['Instant = true', ['p-1']],
    ['Instant = FALSE', ['p-2']],
    ['Instant != true', ['p-2']],
    ["Instant = 'true'", ['p-1']],
    // Datetime custom attribute.
    ["DueAt = '2026-02-01T00:00:00Z'", ['p-1']],
    ["DueAt < '2026-02-01T00:00:00.5Z'", ['p-1']],
    // KeywordList: = means contains.
    ["Tags = 'eu'", ['p-1']],
    ["Tags != 'eu'", ['p-3']],
    ["Tags IN ('us', 'asia')", ['p-3']],
    ["Tags NOT IN ('us')", ['p-1']],
    ["Tags STARTS_WITH 'v'", ['p-1']],
    ['Tags IS NULL', ['p-2', 'period-4']],
    // Text: word match, case-insensitive.
    ["Note = 'sandbox'", ['p-1']],
    ["Note = 'INSTANT'", ['p-1']],
    ["Note = 'sand'", []],
    ["Note = 'declined nothing'", ['p-3']],
    ["Note != 'sandbox'", ['p-3']],
    // Boolean structure and precedence: AND binds tighter than OR, NOT tighter than AND.
    ["PayeeId = 'payee-1' OR PayeeId = 'payee-2' AND Instant = true", ['p-1']],
    ["(PayeeId = 'payee-1' OR PayeeId = 'payee-2') AND Instant = false", ['p-2']],
    ["NOT WorkflowId = 'p-1' AND ExecutionStatus = 'Running'", ['p-2', 'period-4']],
    ["NOT (WorkflowId = 'p-1' OR ExecutionStatus = 'Running')", ['p-3']],
    ["((WorkflowId = 'p-2'))", ['p-2']],
    ["workflowtype = 'x' or WorkflowId = 'p-3'".replace('workflowtype', 'WorkflowType'), ['p-3']],
    ["WorkflowId = 'p-1' and not (Instant = false)", ['p-1']],
    // Quoting: escapes, doubled quotes, backticked names.
    ["`PayeeId` = 'payee-2'", ['p-2']],
    ["WorkflowId = 'p\\-1'", ['p-1']],
    ["WorkflowId IN ('it''s', \"say \\\"hi\\\"\", 'p-3')", ['p-3']],
    // ORDER BY does not change what matches.
    ["WorkflowType = 'payoutWorkflow' ORDER BY StartTime ASC", ['p-1', 'p-2', 'p-3']],
    ['ORDER BY PayoutAmount', ['p-1', 'p-2', 'p-3', 'period-4']],
  ];

  it.each(cases)('%s', (query, expected) => {
    expect(ids(query)).toEqual(expected);
  });

  it('reads escaped quotes and backslashes inside strings', () => {
    const weird = record('it\'s "x" \\ y');
    const compiled = compileVisibilityQuery("WorkflowId = 'it\\'s \"x\" \\\\ y'", TYPES);
    expect(compiled.matches(weird)).toBe(true);
    expect(compileVisibilityQuery("WorkflowId = 'it''s \"x\" \\\\ y'", TYPES).matches(weird)).toBe(true);
  });

  it('handles Int values beyond 2^53 exactly', () => {
    const big = record('big', { searchAttributes: { PayoutAmount: 9007199254740993n } });
    expect(compileVisibilityQuery('PayoutAmount = 9007199254740993', TYPES).matches(big)).toBe(true);
    expect(compileVisibilityQuery('PayoutAmount = 9007199254740992', TYPES).matches(big)).toBe(false);
  });
});

describe('compileVisibilityQuery: ORDER BY', () => {
  function order(query: string): string[] {
    const compiled = compileVisibilityQuery(query, TYPES);
    return [...RECORDS].sort(compiled.compare).map((r) => r.WorkflowId);
  }
  const cases: Array<[string, string[]]> = [
    // Default: running first (no CloseTime), then CloseTime DESC, ties by StartTime DESC.
    ['', ['period-4', 'p-2', 'p-3', 'p-1']],
    ['ORDER BY StartTime', ['p-1', 'p-2', 'p-3', 'period-4']],
    ['ORDER BY StartTime DESC', ['period-4', 'p-3', 'p-2', 'p-1']],
    // Missing values last ascending, first descending.
    ['ORDER BY PayoutAmount ASC', ['p-3', 'p-2', 'p-1', 'period-4']],
    ['ORDER BY PayoutAmount DESC', ['period-4', 'p-1', 'p-2', 'p-3']],
    ['ORDER BY WorkflowType DESC, StartTime ASC', ['period-4', 'p-1', 'p-2', 'p-3']],
    ['ORDER BY ExecutionStatus, WorkflowId DESC', ['period-4', 'p-2', 'p-1', 'p-3']],
    ['ORDER BY PayeeId', ['p-1', 'p-3', 'p-2', 'period-4']],
  ];
  it.each(cases)('%s', (query, expected) => {
    expect(order(query)).toEqual(expected);
  });
  it('reports GROUP BY ExecutionStatus and filters as usual', () => {
    const compiled = compileVisibilityQuery(
      "WorkflowType = 'payoutWorkflow' GROUP BY ExecutionStatus",
      TYPES,
    );
    expect(compiled.groupBy).toEqual(['ExecutionStatus']);
    expect(RECORDS.filter((r) => compiled.matches(r)).map((r) => r.WorkflowId)).toEqual([
      'p-1',
      'p-2',
      'p-3',
    ]);
    expect(compileVisibilityQuery('group by ExecutionStatus', TYPES).groupBy).toEqual(['ExecutionStatus']);
    expect(compileVisibilityQuery('', TYPES).groupBy).toEqual([]);
  });
  it('reports whether ORDER BY was given', () => {
    expect(compileVisibilityQuery('ORDER BY RunId', TYPES).hasOrderBy).toBe(true);
    expect(compileVisibilityQuery("WorkflowId = 'x'", TYPES).hasOrderBy).toBe(false);
  });
});

describe('compileVisibilityQuery: errors', () => {
  const cases: Array<[string, RegExp, number | undefined]> = [
    ["Foo = 'x'", /^unknown search attribute "Foo" at position 1; known: .*PayeeId/, 1],
    [
      "PayeeId = 'a' AND payoutState = 'b'",
      /unknown search attribute "payoutState".*did you mean "PayoutState"/,
      19,
    ],
    ["WorkflowId = 'abc", /^unterminated string at position 14/, 14],
    ['`PayeeId = 1', /^unterminated attribute name/, 1],
    ['WorkflowId STARTS_WITH 5', /^operator STARTS_WITH needs a string at position 24/, 24],
    ["PayoutAmount STARTS_WITH '1'", /STARTS_WITH is not supported for Int attribute "PayoutAmount"/, 14],
    ["PayoutAmount = '12'", /Int attribute "PayoutAmount" cannot be compared with '12'.*integer/, 16],
    ['PayoutAmount = 1.5', /Int attribute "PayoutAmount" cannot be compared with 1.5/, 16],
    ["FxRate > 'x'", /Double attribute "FxRate"/, 10],
    ['Instant > true', /operator > is not supported for Bool attribute "Instant"/, 9],
    ['Instant = 1', /Bool attribute "Instant" cannot be compared with 1/, 11],
    [
      "StartTime > 'yesterday'",
      /Datetime attribute "StartTime" cannot be compared with 'yesterday'.*RFC3339/,
      13,
    ],
    ["StartTime > '2026-02-30T00:00:00Z'", /Datetime attribute "StartTime"/, 13],
    ["ExecutionStatus = 'Done'", /cannot be compared with 'Done'.*'Running'/, 19],
    ["ExecutionStatus > 'Running'", /operator > is not supported for ExecutionStatus/, 17],
    ['ExecutionStatus = 8', /cannot be compared with 8.*number 1-7/, 19],
    ["Tags > 'a'", /operator > is not supported for KeywordList attribute "Tags"/, 6],
    ["Tags BETWEEN 'a' AND 'b'", /BETWEEN is not supported for KeywordList/, 6],
    ["Note IN ('a')", /IN is not supported for Text attribute "Note"/, 6],
    ["Note STARTS_WITH 'a'", /STARTS_WITH is not supported for Text/, 6],
    ['ORDER BY Note', /cannot ORDER BY Text attribute "Note" at position 10/, 10],
    ['ORDER BY Tags DESC', /cannot ORDER BY KeywordList attribute "Tags"/, 10],
    ['PayoutAmount > 10 AND', /expected a condition .* found end of query at position 22/, 22],
    ["(PayeeId = 'a'", /expected "\)" to close "\(" at position 1, found end of query at position 15/, 15],
    ["PayeeId = 'a')", /unexpected "\)" at position 14/, 14],
    [
      "PayeeId = 'a' PayeeId = 'b'",
      /unexpected "PayeeId" at position 15; join conditions with AND or OR/,
      15,
    ],
    ['PayeeId = NULL', /NULL is not a value.*IS NULL/, 11],
    ['PayeeId == 1', /unknown operator "=="/, 9],
    ['PayeeId ! 1', /unexpected character "!"/, 9],
    ['PayeeId = payee', /expected a value after =, found "payee".*quote/, 11],
    ['PayeeId IN ()', /IN needs at least one value/, 13],
    ["PayeeId IN ('a' 'b')", /expected "," or "\)" in IN list/, 17],
    ['PayeeId NOT LIKE 1', /expected IN, STARTS_WITH or BETWEEN after NOT/, 13],
    ['PayeeId', /expected an operator after "PayeeId", found end of query/, 8],
    ['PayeeId IS 1', /expected NULL, found number 1/, 12],
    ['()', /empty parentheses/, 1],
    ['ORDER StartTime', /expected BY/, 7],
    ["PayeeId = 'a' ORDER BY", /expected an attribute name after ORDER BY, found end of query/, 23],
    ["PayeeId = 'a' # x", /unexpected character "#" at position 15/, 15],
    ['PayoutAmount = 12abc', /malformed number "12abc"/, 16],
    ["AND = 'x'", /expected a condition/, 1],
    ['GROUP BY WorkflowType', /cannot GROUP BY "WorkflowType".*only ExecutionStatus/, 10],
    ['GROUP BY Nope', /unknown search attribute "Nope"/, 10],
    ['GROUP BY ExecutionStatus ORDER BY StartTime', /GROUP BY cannot be combined with ORDER BY/, 35],
    ['GROUP ExecutionStatus', /expected BY/, 7],
  ];
  it.each(cases)('%s', (query, message, position) => {
    let thrown: unknown;
    try {
      compileVisibilityQuery(query, TYPES);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(VisibilityQueryError);
    const error = thrown as VisibilityQueryError;
    expect(error.name).toBe('VisibilityQueryError');
    expect(error.message).toMatch(message);
    expect(error.position).toBe(position);
  });
});
