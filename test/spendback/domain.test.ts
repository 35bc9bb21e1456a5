// Pure spendback logic: spend/refund splits (property-based), rules parsing and the configuration section.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { bonusClawback, splitRefund, splitSpend } from '../../src/spendback/allocate.ts';
import {
  applyBps,
  parseRules,
  parseRulesJson,
  percentToBps,
  periodDates,
  periodOf,
} from '../../src/spendback/rules.ts';

const grantsArb = fc.array(
  fc.record({ grantId: fc.uuid(), remaining: fc.bigInt({ min: 0n, max: 100_000n }) }),
  { maxLength: 6 },
);

describe('splitSpend', () => {
  it('takes restricted credit first, in the order given, and the rest from available', () => {
    expect(
      splitSpend(10_000n, [
        { grantId: 'soon', remaining: 3_000n },
        { grantId: 'later', remaining: 5_000n },
      ]),
    ).toEqual({
      grants: [
        { grantId: 'soon', amount: 3_000n },
        { grantId: 'later', amount: 5_000n },
      ],
      fromRestricted: 8_000n,
      fromAvailable: 2_000n,
    });
    expect(splitSpend(2_000n, [{ grantId: 'soon', remaining: 3_000n }])).toEqual({
      grants: [{ grantId: 'soon', amount: 2_000n }],
      fromRestricted: 2_000n,
      fromAvailable: 0n,
    });
  });

  it('always adds up, never over-draws a grant, and uses a later grant only when earlier ones are empty', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1_000_000n }), grantsArb, (amount, grants) => {
        const s = splitSpend(amount, grants);
        expect(s.fromRestricted + s.fromAvailable).toBe(amount);
        expect(s.grants.reduce((sum, g) => sum + g.amount, 0n)).toBe(s.fromRestricted);
        const total = grants.reduce((sum, g) => sum + g.remaining, 0n);
        expect(s.fromRestricted).toBe(amount < total ? amount : total);
        for (const [i, used] of s.grants.entries()) {
          const g = grants.find((x) => x.grantId === used.grantId)!;
          expect(used.amount > 0n && used.amount <= g.remaining).toBe(true);
          if (i < s.grants.length - 1) expect(used.amount).toBe(g.remaining);
        }
      }),
    );
  });
});

describe('splitRefund', () => {
  it('refunds available first, then grants from the last spent, and never more than is left', () => {
    const order = {
      availableLeft: 2_000n,
      grants: [
        { grantId: 'soon', left: 3_000n },
        { grantId: 'later', left: 5_000n },
      ],
    };
    expect(splitRefund(1_500n, order)).toEqual({ toAvailable: 1_500n, grants: [] });
    expect(splitRefund(4_000n, order)).toEqual({
      toAvailable: 2_000n,
      grants: [{ grantId: 'later', amount: 2_000n }],
    });
    expect(splitRefund(10_000n, order).grants).toEqual([
      { grantId: 'later', amount: 5_000n },
      { grantId: 'soon', amount: 3_000n },
    ]);
    expect(() => splitRefund(10_001n, order)).toThrow(/only 10000 minor units are left/);
    expect(() => splitRefund(0n, order)).toThrow(RangeError);
  });

  it('any sequence of refunds returns exactly what was spent, to where it came from', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100_000n }),
        grantsArb,
        fc.array(fc.bigInt({ min: 1n, max: 50_000n }), { maxLength: 8 }),
        (amount, grants, refunds) => {
          const s = splitSpend(amount, grants);
          let availableLeft = s.fromAvailable;
          const left = new Map(s.grants.map((g) => [g.grantId, g.amount]));
          for (const r of refunds) {
            const total = availableLeft + [...left.values()].reduce((a, b) => a + b, 0n);
            if (r > total) {
              expect(() =>
                splitRefund(r, {
                  availableLeft,
                  grants: s.grants.map((g) => ({ grantId: g.grantId, left: left.get(g.grantId)! })),
                }),
              ).toThrow(RangeError);
              continue;
            }
            const back = splitRefund(r, {
              availableLeft,
              grants: s.grants.map((g) => ({ grantId: g.grantId, left: left.get(g.grantId)! })),
            });
            expect(back.toAvailable + back.grants.reduce((a, g) => a + g.amount, 0n)).toBe(r);
            availableLeft -= back.toAvailable;
            for (const g of back.grants) left.set(g.grantId, left.get(g.grantId)! - g.amount);
            expect(availableLeft >= 0n && [...left.values()].every((v) => v >= 0n)).toBe(true);
          }
        },
      ),
    );
  });
});

describe('bonusClawback', () => {
  it("keeps the bonus proportional to what is not refunded, rounding in the payee's favour", () => {
    const base = { bonus: 100n, fromAvailable: 2_000n };
    expect(bonusClawback({ ...base, refundedAvailable: 1_500n, clawedBefore: 0n })).toBe(75n);
    expect(bonusClawback({ ...base, refundedAvailable: 2_000n, clawedBefore: 75n })).toBe(25n);
    expect(bonusClawback({ ...base, refundedAvailable: 1n, clawedBefore: 0n })).toBe(0n);
    expect(bonusClawback({ bonus: 0n, fromAvailable: 0n, refundedAvailable: 0n, clawedBefore: 0n })).toBe(0n);
  });

  it('over any sequence of refunds takes back exactly the whole bonus once everything is refunded', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        fc.array(fc.bigInt({ min: 1n, max: 100_000n }), { maxLength: 6 }),
        (bonus, fromAvailable, parts) => {
          let refunded = 0n;
          let clawed = 0n;
          for (const p of [...parts, fromAvailable]) {
            const step = p < fromAvailable - refunded ? p : fromAvailable - refunded;
            refunded += step;
            const now = bonusClawback({
              bonus,
              fromAvailable,
              refundedAvailable: refunded,
              clawedBefore: clawed,
            });
            expect(now >= 0n).toBe(true);
            clawed += now;
            expect(clawed <= bonus).toBe(true);
          }
          expect(clawed).toBe(bonus);
        },
      ),
    );
  });
});

describe('rules', () => {
  const valid = {
    version: '2026.11-a',
    rules: [
      {
        id: 'earn-500',
        kind: 'earnings_threshold',
        threshold: { USD: '50000' },
        grant: { fixed: { USD: 2500 } },
      },
      {
        id: 'earn-pct',
        kind: 'earnings_threshold',
        threshold: { USD: '100000' },
        grant: { percent: '1.5' },
        validity: '30d',
      },
      { id: 'bonus', kind: 'spendback_bonus', percent: '5', oncePer: 'period' },
      { id: 'vip', kind: 'next_purchase_discount', threshold: { EUR: '1' }, percent: '12.25' },
    ],
  };

  it('parses a versioned document into integer amounts and basis points', () => {
    const rules = parseRules(valid);
    expect(rules.version).toBe('2026.11-a');
    expect(rules.rules).toEqual([
      {
        id: 'earn-500',
        kind: 'earnings_threshold',
        threshold: { USD: 50000n },
        grant: { fixed: { USD: 2500n } },
        validityMs: null,
      },
      {
        id: 'earn-pct',
        kind: 'earnings_threshold',
        threshold: { USD: 100000n },
        grant: { bps: 150 },
        validityMs: 30 * 86_400_000,
      },
      { id: 'bonus', kind: 'spendback_bonus', bps: 500, oncePer: 'period', validityMs: null },
      { id: 'vip', kind: 'next_purchase_discount', threshold: { EUR: 1n }, bps: 1225 },
    ]);
  });

  it.each([
    ['no version', { rules: [] }, /version/],
    ['unknown kind', { version: '1', rules: [{ id: 'x', kind: 'lottery' }] }, /kind/],
    ['unknown field', { version: '1', rules: [{ ...valid.rules[2], extra: 1 }] }, /extra/],
    ['float percent', { version: '1', rules: [{ id: 'b', kind: 'spendback_bonus', percent: 5 }] }, /percent/],
    [
      'three decimals',
      { version: '1', rules: [{ id: 'b', kind: 'spendback_bonus', percent: '1.125' }] },
      /2 decimals/,
    ],
    [
      'over 100%',
      { version: '1', rules: [{ id: 'b', kind: 'spendback_bonus', percent: '100.01' }] },
      /at most 100/,
    ],
    [
      'zero percent',
      { version: '1', rules: [{ id: 'b', kind: 'spendback_bonus', percent: '0' }] },
      /more than 0/,
    ],
    ['float amount', { version: '1', rules: [{ ...valid.rules[0], threshold: { USD: 12.5 } }] }, /threshold/],
    ['no currency', { version: '1', rules: [{ ...valid.rules[0], threshold: {} }] }, /at least one currency/],
    ['bad currency', { version: '1', rules: [{ ...valid.rules[0], threshold: { usd: '1' } }] }, /ISO 4217/],
    ['duplicate id', { version: '1', rules: [valid.rules[2], valid.rules[2]] }, /used twice/],
  ])('rejects %s', (_what, doc, message) => {
    expect(() => parseRules(doc)).toThrow(message);
  });

  it('rejects text that is not JSON with the expected shape in the message', () => {
    expect(() => parseRulesJson('{version: 1')).toThrow(/must be JSON/);
  });

  it('computes percentages exactly, rounding down', () => {
    expect(percentToBps('2.5')).toBe(250);
    expect(percentToBps('100')).toBe(10_000);
    expect(applyBps(105_000n, 150)).toBe(1_575n);
    expect(applyBps(333n, 500)).toBe(16n);
  });

  it('periods follow the commission calendar; their dates cover every shape of period id', () => {
    expect(periodOf(new Date('2026-11-30T23:59:59Z'))).toBe('2026-11');
    expect(periodOf(new Date('2026-12-01T00:00:00Z'))).toBe('2026-12');
    // 01:00 UTC on 1 December is still 30 November in New York.
    expect(
      periodOf(new Date('2026-12-01T01:00:00Z'), { kind: 'monthly', timezone: 'America/New_York' }),
    ).toBe('2026-11');
    expect(periodOf(new Date('2026-11-16T12:00:00Z'), { kind: 'semi_monthly', timezone: 'UTC' })).toBe(
      '2026-11-H2',
    );
    expect(periodDates('2026-12')).toEqual({ start: '2026-12-01', end: '2027-01-01' });
    expect(periodDates('2026-11-H1')).toEqual({ start: '2026-11-01', end: '2026-11-16' });
    expect(periodDates('2026-11-H2')).toEqual({ start: '2026-11-16', end: '2026-12-01' });
    // ISO week 47 of 2026 runs Monday 16 November to Sunday 22 November.
    expect(periodOf(new Date('2026-11-22T12:00:00Z'), { kind: 'weekly', timezone: 'UTC' })).toBe('2026-W47');
    expect(periodDates('2026-W47')).toEqual({ start: '2026-11-16', end: '2026-11-23' });
    expect(periodDates('2021-W01')).toEqual({ start: '2021-01-04', end: '2021-01-11' });
    expect(() => periodDates('2026-13')).toThrow(/no month 13/);
    expect(() => periodDates('November')).toThrow(/period id such as/);
  });
});

describe('spendback configuration', () => {
  it('defaults to 90-day grants, a 7-day notice and no rules', () => {
    const { spendback } = loadConfig({});
    expect(spendback).toMatchObject({ grantValidityMs: 90 * 86_400_000, expiryNoticeMs: 7 * 86_400_000 });
    expect(spendback.rules.rules).toEqual([]);
  });

  it('loads rules from SPENDBACK_RULES and names every bad variable', () => {
    expect(
      loadConfig({ SPENDBACK_RULES: JSON.stringify({ version: 'v1', rules: [] }) }).spendback.rules.version,
    ).toBe('v1');
    let error: unknown;
    try {
      loadConfig({
        SPENDBACK_RULES: JSON.stringify({
          version: 'v1',
          rules: [{ id: 'b', kind: 'spendback_bonus', percent: 'five' }],
        }),
        SPENDBACK_GRANT_VALIDITY: '10m',
        SPENDBACK_RULES_FILE: '/nonexistent/rules.json',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/SPENDBACK_RULES: .*percent/);
    expect(problems).toMatch(/SPENDBACK_GRANT_VALIDITY: must be at least 1h/);
    expect(problems).toMatch(/SPENDBACK_RULES_FILE: cannot read/);
  });
});
