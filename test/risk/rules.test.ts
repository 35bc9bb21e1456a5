import { describe, expect, it } from '@jest/globals';
import { assessRisk, RiskConfigError, type RiskFacts, type RiskRulesConfig } from '../../src/risk/index.ts';

const now = new Date('2026-11-21T12:00:00Z');
const hours = (h: number) => h * 3_600_000;

const baseFacts: RiskFacts = {
  amount: { amount: '10000', currency: 'USD', scale: 2 },
  recentPayouts24h: { count: 0, totalMinor: 0n },
  destinationChangedAt: new Date(now.getTime() - hours(24 * 30)),
  now,
  sharedDestinationPayeeCount: 0,
  trailingAverageMinor: 10_000n,
};

const config: RiskRulesConfig = {
  maxDailyCount: 3,
  maxDailyAmount: { USD: 50_000n },
  destinationCoolOffMs: hours(72),
  maxSharedDestinationPayees: 0,
  anomalyMultiple: 3,
};

describe('assessRisk', () => {
  it.each<[string, Partial<RiskFacts>, Partial<RiskRulesConfig>, string[]]>([
    ['clean payout', {}, {}, []],
    ['third payout of the day is allowed', { recentPayouts24h: { count: 2, totalMinor: 20_000n } }, {}, []],
    ['fourth payout of the day', { recentPayouts24h: { count: 3, totalMinor: 0n } }, {}, ['velocity_count']],
    [
      'count rule disabled',
      { recentPayouts24h: { count: 99, totalMinor: 0n } },
      { maxDailyCount: undefined },
      [],
    ],
    ['daily amount exactly at limit', { recentPayouts24h: { count: 1, totalMinor: 40_000n } }, {}, []],
    [
      'daily amount above limit',
      { recentPayouts24h: { count: 1, totalMinor: 40_001n } },
      {},
      ['velocity_amount'],
    ],
    [
      'amount limit is per currency',
      {
        amount: { amount: '10000', currency: 'EUR', scale: 2 },
        recentPayouts24h: { count: 1, totalMinor: 10n ** 9n },
      },
      {},
      [],
    ],
    [
      'destination changed 1h ago',
      { destinationChangedAt: new Date(now.getTime() - hours(1)) },
      {},
      ['destination_cool_off'],
    ],
    [
      'destination changed exactly at cool-off end',
      { destinationChangedAt: new Date(now.getTime() - hours(72)) },
      {},
      [],
    ],
    ['cool-off disabled', { destinationChangedAt: now }, { destinationCoolOffMs: 0 }, []],
    ['unknown change time', { destinationChangedAt: null }, {}, []],
    ['destination shared', { sharedDestinationPayeeCount: 1 }, {}, ['destination_shared']],
    [
      'sharing tolerated up to limit',
      { sharedDestinationPayeeCount: 2 },
      { maxSharedDestinationPayees: 2 },
      [],
    ],
    ['amount exactly 3× average', { amount: { amount: '30000', currency: 'USD', scale: 2 } }, {}, []],
    [
      'amount above 3× average',
      { amount: { amount: '30001', currency: 'USD', scale: 2 } },
      {},
      ['amount_anomaly'],
    ],
    [
      'fractional multiple 2.5×',
      { amount: { amount: '25001', currency: 'USD', scale: 2 } },
      { anomalyMultiple: 2.5, maxDailyAmount: {} },
      ['amount_anomaly'],
    ],
    [
      'no history: anomaly rule skipped',
      { amount: { amount: '40000', currency: 'USD', scale: 2 }, trailingAverageMinor: undefined },
      {},
      [],
    ],
    [
      'several rules at once, in a stable order',
      {
        amount: { amount: '60000', currency: 'USD', scale: 2 },
        recentPayouts24h: { count: 5, totalMinor: 0n },
        destinationChangedAt: new Date(now.getTime() - hours(2)),
        sharedDestinationPayeeCount: 3,
      },
      {},
      ['velocity_count', 'velocity_amount', 'destination_cool_off', 'destination_shared', 'amount_anomaly'],
    ],
  ])('%s', (_label, factOverrides, configOverrides, codes) => {
    const result = assessRisk({ ...baseFacts, ...factOverrides }, { ...config, ...configOverrides });
    expect(result.reasons.map((r) => r.code)).toEqual(codes);
    expect(result.flagged).toBe(codes.length > 0);
    for (const r of result.reasons) expect(r.message.length).toBeGreaterThan(10);
  });

  it('explains the cool-off in human terms', () => {
    const r = assessRisk(
      { ...baseFacts, destinationChangedAt: new Date(now.getTime() - hours(1.5)) },
      config,
    );
    expect(r.reasons[0]?.message).toBe('destination added or changed 1h 30m ago, within the 72h cool-off');
  });

  it.each([0, -1, 1.234, Number.NaN])('rejects anomalyMultiple %p', (anomalyMultiple) => {
    expect(() => assessRisk(baseFacts, { ...config, anomalyMultiple })).toThrow(RiskConfigError);
  });

  it('rejects a non-integer amount', () => {
    expect(() =>
      assessRisk({ ...baseFacts, amount: { amount: '1e5', currency: 'USD', scale: 2 } }, config),
    ).toThrow(/integer string/);
  });
});
