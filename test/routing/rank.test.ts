import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type {
  PayoutMethod,
  PayoutRail,
  ProviderCapabilities,
  ProviderHealth,
} from '../../src/providers/types.ts';
import { PAYOUT_METHODS, PAYOUT_RAILS } from '../../src/providers/types.ts';
import { decideRail, type RankInput, rankProviders, unsupportedReasons } from '../../src/routing/index.ts';

function caps(overrides: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return {
    methods: ['bank_transfer'],
    currencies: ['USD'],
    countries: ['US'],
    rails: ['instant', 'batch'],
    limits: { USD: { min: 100n, max: 1_000_000n } },
    cost: { fixedMinor: 25n, bps: 0 },
    priority: 10,
    ...overrides,
  };
}
const up: ProviderHealth = { status: 'up' };
const req = {
  method: 'bank_transfer' as const,
  country: 'US',
  currency: 'USD',
  amountMinor: 10_000n,
  rail: 'instant' as const,
};

describe('rankProviders', () => {
  it('orders by health, then priority, then cost, then name', () => {
    const providers: RankInput[] = [
      {
        name: 'degraded-cheap',
        capabilities: caps({ priority: 1, cost: { fixedMinor: 0n, bps: 0 } }),
        health: { status: 'degraded' },
      },
      {
        name: 'p2-expensive',
        capabilities: caps({ priority: 2, cost: { fixedMinor: 0n, bps: 100 } }),
        health: up,
      }, // 100
      {
        name: 'p2-cheap',
        capabilities: caps({ priority: 2, cost: { fixedMinor: 50n, bps: 0 } }),
        health: up,
      }, // 50
      { name: 'b-p1', capabilities: caps({ priority: 1 }), health: up },
      { name: 'a-p1', capabilities: caps({ priority: 1 }), health: up },
    ];
    const ranking = rankProviders(providers, req);
    expect(ranking.candidates.map((c) => c.name)).toEqual([
      'a-p1',
      'b-p1',
      'p2-cheap',
      'p2-expensive',
      'degraded-cheap',
    ]);
    expect(ranking.candidates.find((c) => c.name === 'p2-expensive')?.costMinor).toBe(100n);
    expect(ranking.excluded).toEqual([]);
  });

  it.each([
    ['method_unsupported', { methods: ['wallet'] as PayoutMethod[] }, up],
    ['currency_unsupported', { currencies: ['EUR'] }, up],
    ['country_unsupported', { countries: ['DE'] }, up],
    ['rail_unsupported', { rails: ['batch'] as PayoutRail[] }, up],
    ['below_minimum', { limits: { USD: { min: 20_000n, max: 30_000n } } }, up],
    ['above_maximum', { limits: { USD: { min: 1n, max: 9_999n } } }, up],
    ['provider_down', {}, { status: 'down' } as ProviderHealth],
  ])('excludes with reason %s', (code, override, health) => {
    const ranking = rankProviders([{ name: 'x', capabilities: caps(override), health }], req);
    expect(ranking.candidates).toEqual([]);
    expect(ranking.excluded).toEqual([{ name: 'x', reasons: [expect.objectContaining({ code })] }]);
  });

  it('accepts amounts exactly at the limits and currencies without limits', () => {
    const c = caps({ limits: { USD: { min: 10_000n, max: 10_000n } } });
    expect(unsupportedReasons(c, req)).toEqual([]);
    expect(unsupportedReasons(caps({ limits: {} }), { ...req, amountMinor: 10n ** 18n })).toEqual([]);
  });

  it('property: never returns an unsupported or down provider; every provider is either ranked or excluded', () => {
    const capsArb = fc.record({
      methods: fc.subarray([...PAYOUT_METHODS]),
      currencies: fc.subarray(['USD', 'EUR', 'GBP']),
      countries: fc.subarray(['US', 'DE', 'GB']),
      rails: fc.subarray([...PAYOUT_RAILS]),
      limits: fc.dictionary(
        fc.constantFrom('USD', 'EUR', 'GBP'),
        fc
          .tuple(fc.bigInt({ min: 0n, max: 100_000n }), fc.bigInt({ min: 0n, max: 100_000n }))
          .map(([a, b]) => (a < b ? { min: a, max: b } : { min: b, max: a })),
      ),
      cost: fc.record({
        fixedMinor: fc.bigInt({ min: 0n, max: 500n }),
        bps: fc.integer({ min: 0, max: 500 }),
      }),
      priority: fc.integer({ min: 0, max: 5 }),
    });
    const providerArb = fc.record({
      capabilities: capsArb,
      health: fc.constantFrom<ProviderHealth>({ status: 'up' }, { status: 'degraded' }, { status: 'down' }),
    });
    const reqArb = fc.record({
      method: fc.constantFrom(...PAYOUT_METHODS),
      country: fc.constantFrom('US', 'DE', 'GB'),
      currency: fc.constantFrom('USD', 'EUR', 'GBP'),
      amountMinor: fc.bigInt({ min: 0n, max: 150_000n }),
      rail: fc.constantFrom(...PAYOUT_RAILS),
    });
    fc.assert(
      fc.property(fc.array(providerArb, { maxLength: 6 }), reqArb, (ps, r) => {
        const inputs = ps.map((p, i) => ({ name: `p${i}`, ...p }));
        const ranking = rankProviders(inputs, r);
        for (const c of ranking.candidates) {
          const p = inputs.find((x) => x.name === c.name)!;
          expect(p.health.status).not.toBe('down');
          expect(p.capabilities.methods).toContain(r.method);
          expect(p.capabilities.currencies).toContain(r.currency);
          expect(p.capabilities.countries).toContain(r.country);
          expect(p.capabilities.rails).toContain(r.rail);
          const limit = p.capabilities.limits[r.currency];
          if (limit) expect(r.amountMinor >= limit.min && r.amountMinor <= limit.max).toBe(true);
        }
        for (let i = 1; i < ranking.candidates.length; i++) {
          const a = ranking.candidates[i - 1]!;
          const b = ranking.candidates[i]!;
          if (a.health === b.health && a.priority === b.priority)
            expect(a.costMinor <= b.costMinor).toBe(true);
        }
        expect(ranking.candidates.length + ranking.excluded.length).toBe(inputs.length);
        for (const e of ranking.excluded) expect(e.reasons.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('decideRail', () => {
  const ok = {
    instantOptIn: true,
    instantCapable: true,
    amountMinor: 10_000n,
    instantLimitMinor: 10_000n,
    riskClear: true,
  };
  it.each([
    ['all conditions hold (amount = limit)', ok, 'instant', 'instant_eligible'],
    ['not opted in', { ...ok, instantOptIn: false }, 'scheduled', 'not_opted_in'],
    ['risk flagged', { ...ok, riskClear: false }, 'scheduled', 'risk_flagged'],
    ['no instant provider', { ...ok, instantCapable: false }, 'scheduled', 'no_instant_provider'],
    [
      'no limit for currency',
      { ...ok, instantLimitMinor: null },
      'scheduled',
      'instant_not_offered_in_currency',
    ],
    ['above limit', { ...ok, amountMinor: 10_001n }, 'scheduled', 'above_instant_limit'],
  ])('%s', (_label, input, rail, reason) => {
    expect(decideRail(input)).toEqual({ rail, reason });
  });
});
