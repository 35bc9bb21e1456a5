import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  compileVisibilityQuery,
  type SearchAttributeKind,
  type VisibilityRecord,
} from '../../src/visibility/query.ts';

// Random filters over random records: the boolean structure must obey the laws of SQL's three-valued
// logic, and atomic comparisons must agree with a direct computation on the values.

const TYPES: Record<string, SearchAttributeKind> = {
  PayeeId: 'Keyword',
  PayoutAmount: 'Int',
  Tags: 'KeywordList',
  Instant: 'Bool',
};

const KEYWORDS = ['a', 'ab', 'b', 'payee-1'];

const recordArb: fc.Arbitrary<VisibilityRecord> = fc
  .record({
    id: fc.constantFrom('w1', 'w2', 'x1'),
    status: fc.constantFrom('Running', 'Completed', 'Failed'),
    startMs: fc.integer({ min: 0, max: 4 }).map((h) => Date.UTC(2026, 0, 1, h)),
    payee: fc.option(fc.constantFrom(...KEYWORDS), { nil: undefined }),
    amount: fc.option(fc.bigInt({ min: -3n, max: 3n }), { nil: undefined }),
    tags: fc.option(fc.uniqueArray(fc.constantFrom(...KEYWORDS), { maxLength: 3 }), { nil: undefined }),
    instant: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((r) => ({
    WorkflowId: r.id,
    WorkflowType: 'payoutWorkflow',
    RunId: `run-${r.id}`,
    ExecutionStatus: r.status as VisibilityRecord['ExecutionStatus'],
    StartTime: new Date(r.startMs),
    TaskQueue: 'payouts',
    searchAttributes: { PayeeId: r.payee, PayoutAmount: r.amount, Tags: r.tags, Instant: r.instant },
  }));

const keyword = fc.constantFrom(...KEYWORDS).map((k) => `'${k}'`);
const atomArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('=', '!=', '>', '>=', '<', '<='), keyword).map(([op, v]) => `PayeeId ${op} ${v}`),
  fc
    .tuple(fc.constantFrom('=', '!=', '>', '<='), fc.integer({ min: -3, max: 3 }))
    .map(([op, v]) => `PayoutAmount ${op} ${v}`),
  fc.tuple(fc.constantFrom('=', '!='), keyword).map(([op, v]) => `Tags ${op} ${v}`),
  fc
    .tuple(fc.constantFrom('', 'NOT '), fc.uniqueArray(keyword, { minLength: 1, maxLength: 3 }))
    .map(([not, vs]) => `PayeeId ${not}IN (${vs.join(', ')})`),
  fc
    .tuple(fc.constantFrom('', 'NOT '), fc.constantFrom("'a'", "'p'", "'w'"))
    .map(([not, v]) => `WorkflowId ${not}STARTS_WITH ${v}`),
  fc.constantFrom(
    'PayeeId IS NULL',
    'PayoutAmount IS NOT NULL',
    'Instant = true',
    'Instant != false',
    "ExecutionStatus = 'Running'",
    "ExecutionStatus IN ('Completed', 'Failed')",
    "StartTime BETWEEN '2026-01-01T01:00:00Z' AND '2026-01-01T03:00:00Z'",
    "StartTime > '2026-01-01T02:00:00+00:00'",
  ),
);

const filterArb: fc.Arbitrary<string> = fc.letrec<{ filter: string }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atomArb,
    fc.tuple(tie('filter'), tie('filter')).map(([a, b]) => `(${a}) AND (${b})`),
    fc.tuple(tie('filter'), tie('filter')).map(([a, b]) => `(${a}) OR (${b})`),
    tie('filter').map((a) => `NOT (${a})`),
  ),
})).filter;

const compile = (q: string) => compileVisibilityQuery(q, TYPES);
const matches = (q: string, r: VisibilityRecord) => compile(q).matches(r);
/** Truth value under three-valued logic: a filter F is UNKNOWN when neither F nor NOT (F) match. */
const truth = (q: string, r: VisibilityRecord) =>
  matches(q, r) ? 'T' : matches(`NOT (${q})`, r) ? 'F' : 'U';

describe('visibility query laws (fast-check)', () => {
  it('A OR B matches iff A or B matches; A AND B iff both', () => {
    fc.assert(
      fc.property(filterArb, filterArb, recordArb, (a, b, r) => {
        expect(matches(`(${a}) OR (${b})`, r)).toBe(matches(a, r) || matches(b, r));
        expect(matches(`(${a}) AND (${b})`, r)).toBe(matches(a, r) && matches(b, r));
      }),
      { numRuns: 300 },
    );
  });

  it('NOT is an involution, never matches together with its operand, and obeys De Morgan', () => {
    fc.assert(
      fc.property(filterArb, filterArb, recordArb, (a, b, r) => {
        expect(truth(`NOT (NOT (${a}))`, r)).toBe(truth(a, r));
        expect(matches(a, r) && matches(`NOT (${a})`, r)).toBe(false);
        expect(truth(`NOT ((${a}) OR (${b}))`, r)).toBe(truth(`NOT (${a}) AND NOT (${b})`, r));
        expect(truth(`NOT ((${a}) AND (${b}))`, r)).toBe(truth(`NOT (${a}) OR NOT (${b})`, r));
      }),
      { numRuns: 300 },
    );
  });

  it('precedence: A OR B AND C means A OR (B AND C); NOT A AND B means (NOT A) AND B', () => {
    fc.assert(
      fc.property(atomArb, atomArb, atomArb, recordArb, (a, b, c, r) => {
        expect(truth(`${a} OR ${b} AND ${c}`, r)).toBe(truth(`(${a}) OR ((${b}) AND (${c}))`, r));
        expect(truth(`NOT ${a} AND ${b}`, r)).toBe(truth(`(NOT (${a})) AND (${b})`, r));
        // Keywords are case-insensitive and whitespace is irrelevant.
        const lower = `${a} or ${b} and ${c}`;
        expect(truth(lower, r)).toBe(truth(`${a}   OR\n${b}\tAND ${c}`, r));
      }),
      { numRuns: 300 },
    );
  });

  it('atomic Int and Keyword comparisons agree with direct computation; missing is unknown', () => {
    const ops = ['=', '!=', '>', '>=', '<', '<='] as const;
    const direct = (op: (typeof ops)[number], x: bigint | string, y: bigint | string) =>
      ({ '=': x === y, '!=': x !== y, '>': x > y, '>=': x >= y, '<': x < y, '<=': x <= y })[op];
    fc.assert(
      fc.property(
        recordArb,
        fc.constantFrom(...ops),
        fc.bigInt({ min: -3n, max: 3n }),
        fc.constantFrom(...KEYWORDS),
        (r, op, n, k) => {
          const amount = r.searchAttributes.PayoutAmount as bigint | undefined;
          const payee = r.searchAttributes.PayeeId as string | undefined;
          expect(truth(`PayoutAmount ${op} ${n}`, r)).toBe(
            amount === undefined ? 'U' : direct(op, amount, n) ? 'T' : 'F',
          );
          expect(truth(`PayeeId ${op} '${k}'`, r)).toBe(
            payee === undefined ? 'U' : direct(op, payee, k) ? 'T' : 'F',
          );
          const tags = r.searchAttributes.Tags as string[] | undefined;
          const listed = tags !== undefined && tags.length > 0;
          expect(truth(`Tags = '${k}'`, r)).toBe(!listed ? 'U' : tags.includes(k) ? 'T' : 'F');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('compare is a consistent total preorder, for the default order and ORDER BY', () => {
    const orders = ['', 'ORDER BY PayoutAmount DESC, PayeeId', 'ORDER BY Instant, StartTime ASC'];
    fc.assert(
      fc.property(fc.constantFrom(...orders), recordArb, recordArb, recordArb, (q, a, b, c) => {
        const { compare } = compile(q);
        expect(Math.sign(compare(a, b)) + Math.sign(compare(b, a))).toBe(0);
        expect(compare(a, a)).toBe(0);
        if (compare(a, b) <= 0 && compare(b, c) <= 0) expect(compare(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});
