// Property tests for the risk rules: each rule fires exactly when its own condition holds (never below a
// limit, always above it), a flagged assessment carries one reason per firing rule with a stable code, in a
// stable order, and the result depends on nothing but the facts and the configuration.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  assessRisk,
  type RiskFacts,
  type RiskReasonCode,
  type RiskRulesConfig,
} from '../../src/risk/index.ts';

const RULE_ORDER: RiskReasonCode[] = [
  'velocity_count',
  'velocity_amount',
  'destination_cool_off',
  'destination_shared',
  'amount_anomaly',
];

const now = new Date('2026-11-21T12:00:00Z');
const DAY = 86_400_000;

/** Every rule switched off: a property turns on only the rule it is about. */
const allOff: RiskRulesConfig = {
  destinationCoolOffMs: 0,
  maxSharedDestinationPayees: Number.MAX_SAFE_INTEGER,
};

const currency = fc.constantFrom('USD', 'EUR', 'GBP');
const minor = fc.bigInt({ min: 0n, max: 10n ** 15n });

const facts = fc.record({
  amount: fc.record({
    amount: minor.map(String),
    currency,
    scale: fc.constant(2),
  }),
  recentPayouts24h: fc.record({ count: fc.nat({ max: 1000 }), totalMinor: minor }),
  destinationChangedAt: fc.option(
    fc.integer({ min: -60 * DAY, max: DAY }).map((offset) => new Date(now.getTime() + offset)),
    { nil: null },
  ),
  now: fc.constant(now),
  sharedDestinationPayeeCount: fc.nat({ max: 50 }),
  trailingAverageMinor: fc.option(minor, { nil: undefined }),
}) satisfies fc.Arbitrary<RiskFacts>;

const config = fc.record(
  {
    maxDailyCount: fc.nat({ max: 1000 }),
    maxDailyAmount: fc.dictionary(currency, minor),
    destinationCoolOffMs: fc.integer({ min: 0, max: 30 * DAY }),
    maxSharedDestinationPayees: fc.nat({ max: 50 }),
    // Up to two decimals, as the configuration allows (0.01 … 20.00).
    anomalyMultiple: fc.integer({ min: 1, max: 2000 }).map((h) => h / 100),
  },
  { requiredKeys: ['destinationCoolOffMs', 'maxSharedDestinationPayees'] },
) satisfies fc.Arbitrary<RiskRulesConfig>;

const codes = (f: RiskFacts, c: RiskRulesConfig) => assessRisk(f, c).reasons.map((r) => r.code);

/** What each rule should decide, written independently of the implementation (exact integer arithmetic). */
function expectedCodes(f: RiskFacts, c: RiskRulesConfig): RiskReasonCode[] {
  const amount = BigInt(f.amount.amount);
  const fired: Record<RiskReasonCode, boolean> = {
    velocity_count: c.maxDailyCount !== undefined && f.recentPayouts24h.count + 1 > c.maxDailyCount,
    velocity_amount:
      c.maxDailyAmount?.[f.amount.currency] !== undefined &&
      f.recentPayouts24h.totalMinor + amount > (c.maxDailyAmount[f.amount.currency] as bigint),
    destination_cool_off:
      c.destinationCoolOffMs > 0 &&
      f.destinationChangedAt !== null &&
      f.now.getTime() - f.destinationChangedAt.getTime() < c.destinationCoolOffMs,
    destination_shared: f.sharedDestinationPayeeCount > c.maxSharedDestinationPayees,
    amount_anomaly:
      c.anomalyMultiple !== undefined &&
      f.trailingAverageMinor !== undefined &&
      f.trailingAverageMinor > 0n &&
      amount * 100n > f.trailingAverageMinor * BigInt(Math.round(c.anomalyMultiple * 100)),
  };
  return RULE_ORDER.filter((code) => fired[code]);
}

describe('property: risk rules', () => {
  it('flag exactly the rules whose condition holds, one reason per rule, in a stable order', () => {
    fc.assert(
      fc.property(facts, config, (f, c) => {
        const result = assessRisk(f, c);
        const got = result.reasons.map((r) => r.code);
        expect(got).toEqual(expectedCodes(f, c));
        expect(new Set(got).size).toBe(got.length);
        expect(result.flagged).toBe(got.length > 0);
        for (const r of result.reasons) expect(r.message).not.toBe('');
        // Pure: the same facts and configuration give the same answer.
        expect(assessRisk(f, c)).toEqual(result);
      }),
      { numRuns: 500 },
    );
  });

  it('velocity count: never flags at or below the limit, always flags above it', () => {
    fc.assert(
      fc.property(facts, fc.nat({ max: 1000 }), fc.integer({ min: -1000, max: 1000 }), (f, limit, delta) => {
        const count = limit + delta;
        fc.pre(count >= 1);
        // `count` = payouts in 24h including this one.
        const facts = { ...f, recentPayouts24h: { ...f.recentPayouts24h, count: count - 1 } };
        expect(codes(facts, { ...allOff, maxDailyCount: limit })).toEqual(
          count > limit ? ['velocity_count'] : [],
        );
      }),
    );
  });

  it('velocity amount: never flags at or below the limit, always above; only in the limited currency', () => {
    fc.assert(
      fc.property(
        facts,
        minor,
        fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }),
        currency,
        (f, limit, delta, limitedCurrency) => {
          const amount = BigInt(f.amount.amount);
          const previous = limit + delta - amount;
          fc.pre(previous >= 0n);
          const facts = { ...f, recentPayouts24h: { ...f.recentPayouts24h, totalMinor: previous } };
          const got = codes(facts, { ...allOff, maxDailyAmount: { [limitedCurrency]: limit } });
          const over = f.amount.currency === limitedCurrency && delta > 0n;
          expect(got).toEqual(over ? ['velocity_amount'] : []);
        },
      ),
    );
  });

  it('cool-off: flags exactly when the destination changed inside the window', () => {
    fc.assert(
      fc.property(
        facts,
        fc.integer({ min: 1, max: 30 * DAY }),
        fc.integer({ min: 0, max: 60 * DAY }),
        (f, window, age) => {
          const changedAt = new Date(now.getTime() - age);
          const got = codes(
            { ...f, destinationChangedAt: changedAt },
            { ...allOff, destinationCoolOffMs: window },
          );
          expect(got).toEqual(age < window ? ['destination_cool_off'] : []);
          // Disabled (0) or an unknown change time never flags.
          expect(codes({ ...f, destinationChangedAt: changedAt }, allOff)).toEqual([]);
          expect(
            codes({ ...f, destinationChangedAt: null }, { ...allOff, destinationCoolOffMs: window }),
          ).toEqual([]);
        },
      ),
    );
  });

  it('cool-off boundary: one millisecond inside flags, the window end does not', () => {
    fc.assert(
      fc.property(facts, fc.integer({ min: 1, max: 30 * DAY }), (f, window) => {
        const at = (age: number) =>
          codes(
            { ...f, destinationChangedAt: new Date(now.getTime() - age) },
            { ...allOff, destinationCoolOffMs: window },
          );
        expect(at(window - 1)).toEqual(['destination_cool_off']);
        expect(at(window)).toEqual([]);
      }),
    );
  });

  it('shared destination: flags exactly when more payees than allowed share it', () => {
    fc.assert(
      fc.property(facts, fc.nat({ max: 50 }), (f, allowed) => {
        const got = codes(f, { ...allOff, maxSharedDestinationPayees: allowed });
        expect(got).toEqual(f.sharedDestinationPayeeCount > allowed ? ['destination_shared'] : []);
      }),
    );
  });

  it('amount anomaly: flags exactly above multiple × trailing average, integer arithmetic', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.integer({ min: 1, max: 2000 }),
        fc.bigInt({ min: -3n, max: 3n }),
        (average, hundredths, delta) => {
          // The exact threshold amount × 100 = average × hundredths, probed around its integer neighbourhood.
          const threshold = (average * BigInt(hundredths)) / 100n;
          const amount = threshold + delta;
          fc.pre(amount >= 0n);
          const f: RiskFacts = {
            amount: { amount: amount.toString(), currency: 'USD', scale: 2 },
            recentPayouts24h: { count: 0, totalMinor: 0n },
            destinationChangedAt: null,
            now,
            sharedDestinationPayeeCount: 0,
            trailingAverageMinor: average,
          };
          const got = codes(f, { ...allOff, anomalyMultiple: hundredths / 100 });
          expect(got).toEqual(amount * 100n > average * BigInt(hundredths) ? ['amount_anomaly'] : []);
        },
      ),
    );
  });
});
