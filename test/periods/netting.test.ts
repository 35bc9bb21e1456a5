import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nextPeriodId, periodIdFor } from '../../src/periods/calendar.ts';
import { netStatement, periodPosting } from '../../src/periods/netting.ts';

describe('netting of period statements', () => {
  it('never makes the wallet negative and conserves the statement total', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -1_000_000n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.bigInt({ min: -1_000_000n, max: 0n }),
        (total, available, receivable) => {
          const n = netStatement({
            periodId: '2026-11',
            payeeId: 'p',
            currency: 'USD',
            total,
            available,
            receivable,
          });
          expect(available + n.toAvailable).toBeGreaterThanOrEqual(0n);
          expect(n.toAvailable + n.toReceivable).toBe(total);
          // a credit repays the receivable first; it never overshoots to a positive receivable
          expect(receivable + n.toReceivable).toBeLessThanOrEqual(0n);
          if (total > 0n) expect(n.toAvailable > 0n && receivable + n.toReceivable < 0n).toBe(false);
        },
      ),
    );
  });

  it('books a clawback beyond the balance as a receivable, netted against the next credit', () => {
    const first = periodPosting(
      { periodId: '2026-10', payeeId: 'p', currency: 'USD', total: -700n, available: 200n, receivable: 0n },
      1,
    )!;
    expect(first.type).toBe('period.clawback');
    expect(first.entries.map((e) => [e.account.kind, e.amount.amount])).toEqual([
      ['platform_funding', '700'],
      ['payee_available', '-200'],
      ['payee_receivable', '-500'],
    ]);
    const next = netStatement({
      periodId: '2026-11',
      payeeId: 'p',
      currency: 'USD',
      total: 800n,
      available: 0n,
      receivable: -500n,
    });
    expect(next).toEqual({ toAvailable: 300n, toReceivable: 500n });
  });
});

describe('period calendar', () => {
  it.each([
    ['2026-11-30T23:30:00Z', 'monthly', 'UTC', '2026-11'],
    ['2026-11-30T23:30:00Z', 'monthly', 'Asia/Tokyo', '2026-12'],
    ['2026-12-01T03:00:00Z', 'monthly', 'America/New_York', '2026-11'],
    ['2026-11-15T12:00:00Z', 'semi_monthly', 'UTC', '2026-11-H1'],
    ['2026-11-16T00:00:00Z', 'semi_monthly', 'UTC', '2026-11-H2'],
    ['2026-11-21T12:00:00Z', 'weekly', 'UTC', '2026-W47'],
    ['2027-01-01T12:00:00Z', 'weekly', 'UTC', '2026-W53'],
  ] as const)('%s (%s, %s) → %s', (at, kind, timezone, id) => {
    expect(periodIdFor(new Date(at), { kind, timezone })).toBe(id);
  });

  it.each([
    ['2026-11', '2026-12'],
    ['2026-12', '2027-01'],
    ['2026-11-H1', '2026-11-H2'],
    ['2026-12-H2', '2027-01-H1'],
    ['2026-W47', '2026-W48'],
    ['2026-W53', '2027-W01'],
  ])('next of %s is %s', (id, next) => {
    expect(nextPeriodId(id)).toBe(next);
  });
});
