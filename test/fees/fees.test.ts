import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  applyBps,
  computeInstantFee,
  computePayoutBreakdown,
  computeWithholding,
  divideHalfUp,
  FeeError,
} from '../../src/fees/index.ts';

describe('divideHalfUp', () => {
  it.each([
    [25n, 2n, 13n],
    [24n, 2n, 12n],
    [1249n, 100n, 12n],
    [1250n, 100n, 13n],
    [1251n, 100n, 13n],
    [0n, 7n, 0n],
    [-25n, 2n, -13n],
  ])('%p / %p -> %p', (n, d, expected) => {
    expect(divideHalfUp(n, d)).toBe(expected);
  });

  it('rejects a non-positive denominator', () => {
    expect(() => divideHalfUp(1n, 0n)).toThrow(RangeError);
  });

  it('matches exact rational rounding for any operands', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        (n, d) => {
          const q = divideHalfUp(n, d);
          // q is the nearest integer, ties upward: |n - q*d| <= d/2 and a tie rounds up.
          const diff = n - q * d; // in [-d/2, d/2): a tie (diff = -d/2) went up
          expect(2n * diff < d).toBe(true);
          expect(2n * diff >= -d).toBe(true);
        },
      ),
    );
  });
});

describe('applyBps', () => {
  it('rejects fractional or out-of-range basis points', () => {
    expect(() => applyBps(100n, 1.5)).toThrow(RangeError);
    expect(() => applyBps(100n, -1)).toThrow(RangeError);
    expect(() => applyBps(100n, 10_001)).toThrow(RangeError);
  });
});

describe('computeInstantFee', () => {
  it.each([
    ['no rule', 10_000n, undefined, 0n],
    ['fixed only', 10_000n, { fixedMinor: 25n, bps: 0 }, 25n],
    ['1% of 10.00', 1_000n, { fixedMinor: 0n, bps: 100 }, 10n],
    ['1% of 0.55 rounds half-up', 55n, { fixedMinor: 0n, bps: 1000 }, 6n], // 5.5 -> 6
    ['1.5% + 0.25 of 100.00', 10_000n, { fixedMinor: 25n, bps: 150 }, 175n],
    ['minimum applies', 100n, { fixedMinor: 0n, bps: 100, minMinor: 50n }, 50n],
    ['maximum caps', 1_000_000n, { fixedMinor: 0n, bps: 100, maxMinor: 1_500n }, 1_500n],
    ['never above gross', 30n, { fixedMinor: 50n, bps: 0 }, 30n],
  ])('%s', (_label, gross, rule, expected) => {
    expect(computeInstantFee(gross, rule)).toBe(expected);
  });

  it('rejects a negative gross', () => {
    expect(() => computeInstantFee(-1n, { fixedMinor: 0n, bps: 1 })).toThrow(FeeError);
  });
});

describe('computeWithholding', () => {
  it('withholds 24% of 123.45 USD as 29.63 (2962.8 rounded half-up)', () => {
    expect(computeWithholding(12_345n, 2_400)).toBe(2_963n);
  });
});

describe('computePayoutBreakdown', () => {
  it('splits a gross into withholding, fee and net', () => {
    const b = computePayoutBreakdown(
      { amount: '10000', currency: 'USD', scale: 2 },
      { instant: true, feeSchedule: { USD: { fixedMinor: 25n, bps: 100 } }, withholdingBps: 2_400 },
    );
    expect(b).toEqual({
      gross: { amount: '10000', currency: 'USD', scale: 2 },
      withholding: { amount: '2400', currency: 'USD', scale: 2 },
      instantFee: { amount: '125', currency: 'USD', scale: 2 },
      net: { amount: '7475', currency: 'USD', scale: 2 },
    });
  });

  it('charges no instant fee on a scheduled payout', () => {
    const b = computePayoutBreakdown(
      { amount: '10000', currency: 'USD', scale: 2 },
      { instant: false, feeSchedule: { USD: { fixedMinor: 25n, bps: 100 } }, withholdingBps: 0 },
    );
    expect(b.instantFee.amount).toBe('0');
    expect(b.net.amount).toBe('10000');
  });

  it('rejects a non-integer amount string', () => {
    expect(() =>
      computePayoutBreakdown(
        { amount: '10.5', currency: 'USD', scale: 2 },
        { instant: true, feeSchedule: {}, withholdingBps: 0 },
      ),
    ).toThrow(FeeError);
  });

  it('property: fee + withholding + net = gross, every part non-negative', () => {
    const rule = fc.record(
      {
        fixedMinor: fc.bigInt({ min: 0n, max: 10_000n }),
        bps: fc.integer({ min: 0, max: 10_000 }),
        minMinor: fc.bigInt({ min: 0n, max: 10_000n }),
        maxMinor: fc.bigInt({ min: 0n, max: 1_000_000n }),
      },
      { requiredKeys: ['fixedMinor', 'bps'] },
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        rule,
        fc.integer({ min: 0, max: 10_000 }),
        fc.boolean(),
        (gross, feeRule, withholdingBps, instant) => {
          const b = computePayoutBreakdown(
            { amount: gross.toString(), currency: 'EUR', scale: 2 },
            { instant, feeSchedule: { EUR: feeRule }, withholdingBps },
          );
          const fee = BigInt(b.instantFee.amount);
          const tax = BigInt(b.withholding.amount);
          const net = BigInt(b.net.amount);
          expect(fee + tax + net).toBe(gross);
          expect(fee >= 0n && tax >= 0n && net >= 0n).toBe(true);
        },
      ),
    );
  });
});
