import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  applyBps,
  calculatePeriod,
  type EarningsEvent,
  loadPlans,
  type Plan,
  PlanInvalid,
  parsePlan,
  type TreeNode,
} from '../../src/plans/index.ts';

const plansDir = fileURLToPath(new URL('../../config/plans', import.meta.url));
const plan: Plan = parsePlan({
  version: 't1',
  rounding: 'half_even',
  categories: { default: 1000, nutrition: 1200 },
  volumeTiers: [
    { minVolume: 0, extraRateBps: 0 },
    { minVolume: 100, extraRateBps: 500 },
  ],
  rankBonuses: [{ rank: 'silver', minPersonalVolume: 50, minGroupVolume: 200, amount: '1000' }],
  bonusCurrency: 'USD',
  overrides: { levelsBps: [500, 200], maxShareBps: 700, compression: true, activeMinVolume: 10 },
});

const sale = (payeeId: string, amount: bigint, volume: number, category = 'default'): EarningsEvent => ({
  payeeId,
  type: 'sale',
  amount,
  currency: 'USD',
  category,
  volume,
});

describe('plan validation', () => {
  it('loads and validates the sample plans', () => {
    const reg = loadPlans(plansDir);
    expect(reg.versions()).toEqual(['standard-2026.1', 'standard-2026.2']);
  });

  it.each([
    ['no default category', { categories: { nutrition: 1 } }, 'categories'],
    [
      'unsorted tiers',
      {
        volumeTiers: [
          { minVolume: 0, extraRateBps: 0 },
          { minVolume: 0, extraRateBps: 1 },
        ],
      },
      'volumeTiers',
    ],
    [
      'levels above the share',
      { overrides: { levelsBps: [600, 200], maxShareBps: 700, compression: true, activeMinVolume: 0 } },
      'overrides',
    ],
    ['fractional rate', { categories: { default: 10.5 } }, 'categories.default'],
    ['unknown field', { surprise: true }, '(root)'],
  ])('rejects %s with the path of the problem', (_name, patch, path) => {
    let caught: unknown;
    try {
      parsePlan({ ...plan, ...patch });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlanInvalid);
    expect((caught as PlanInvalid).problems.some((p) => p.startsWith(path))).toBe(true);
  });
});

describe('applyBps rounding', () => {
  it.each([
    [15n, 1000, 'half_even', 2n], // 1.5 → 2
    [25n, 1000, 'half_even', 2n], // 2.5 → 2
    [25n, 1000, 'half_up', 3n],
    [29n, 1000, 'floor', 2n],
    [-25n, 1000, 'half_even', -2n],
    [-25n, 1000, 'half_up', -3n],
    [-21n, 1000, 'floor', -3n],
  ] as const)('%s × %s bps (%s) = %s', (n, bps, mode, expected) => {
    expect(applyBps(n, bps, mode)).toBe(expected);
  });
});

describe('calculatePeriod', () => {
  // root ← a ← b (inactive) ← c ; root ← d
  const tree: TreeNode[] = [
    { payeeId: 'root', sponsorId: null },
    { payeeId: 'a', sponsorId: 'root' },
    { payeeId: 'b', sponsorId: 'a' },
    { payeeId: 'c', sponsorId: 'b' },
    { payeeId: 'd', sponsorId: 'root' },
  ];

  it('computes commissions, tiers, compressed overrides and rank bonuses', () => {
    const events: EarningsEvent[] = [
      sale('root', 10_000n, 60),
      sale('a', 20_000n, 150, 'nutrition'),
      sale('b', 1_000n, 5), // inactive (volume < 10): compressed away
      sale('c', 30_000n, 40),
      { payeeId: 'd', type: 'clawback', amount: 500n, currency: 'USD', category: 'default', volume: 0 },
      { payeeId: 'd', type: 'bonus', amount: 200n, currency: 'EUR', category: 'default', volume: 0 },
    ];
    const byId = new Map(calculatePeriod(plan, events, tree).map((s) => [`${s.payeeId}/${s.currency}`, s]));
    const a = byId.get('a/USD')!;
    expect(a.commission).toBe(3_400n); // 20 000 × (12% + 5% tier)
    // level 1: b's 1 000 and (b inactive → same level) c's 30 000 → 5%; nothing at level 2
    expect(a.overrides).toBe(1_550n);
    const root = byId.get('root/USD')!;
    expect(root.commission).toBe(1_000n);
    // level 1: a 20 000; level 2: b 1 000 + c 30 000 (b compressed) → 1 000 + 620
    expect(root.overrides).toBe(1_000n + 620n);
    expect(root.rank).toBe('silver'); // pv 60 ≥ 50, group 60+150+5+40 = 255 ≥ 200
    expect(root.bonus).toBe(1_000n);
    expect(byId.get('b/USD')!.overrides).toBe(0n); // inactive payees earn no overrides
    expect(byId.get('d/USD')!.total).toBe(-500n);
    expect(byId.get('d/EUR')!.total).toBe(200n);
  });
});

// ---------------------------------------------------------------- properties

const treeArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
  fc.tuple(
    fc.constant(n),
    fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: n, maxLength: n }), // sponsor choice
  ),
);

const scenarioArb = treeArb.chain(([n, sponsorPick]) => {
  const ids = Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`);
  // Sponsor is always an earlier payee: a forest without cycles.
  const tree: TreeNode[] = ids.map((payeeId, i) => ({
    payeeId,
    sponsorId: i === 0 || sponsorPick[i]! % 5 === 0 ? null : ids[sponsorPick[i]! % i]!,
  }));
  const event = fc.record({
    payeeId: fc.constantFrom(...ids),
    type: fc.constantFrom(
      'sale',
      'sale',
      'sale',
      'commission',
      'bonus',
      'adjustment',
      'clawback',
    ) as fc.Arbitrary<EarningsEvent['type']>,
    amount: fc.bigInt({ min: 1n, max: 10_000_000n }),
    currency: fc.constantFrom('USD', 'EUR'),
    category: fc.constantFrom('default', 'nutrition', 'other'),
    volume: fc.integer({ min: 0, max: 500 }),
  });
  return fc.tuple(fc.constant(tree), fc.array(event, { maxLength: 120 }));
});

const planArb = fc
  .record({
    levels: fc.array(fc.integer({ min: 0, max: 800 }), { maxLength: 6 }),
    compression: fc.boolean(),
    activeMinVolume: fc.integer({ min: 0, max: 300 }),
    rounding: fc.constantFrom('half_even', 'half_up', 'floor') as fc.Arbitrary<Plan['rounding']>,
  })
  .map(({ levels, compression, activeMinVolume, rounding }) =>
    parsePlan({
      ...plan,
      rounding,
      overrides: {
        levelsBps: levels,
        maxShareBps: levels.reduce((a, b) => a + b, 0),
        compression,
        activeMinVolume,
      },
    }),
  );

describe('calculation properties', () => {
  it('total overrides never exceed the configured share of sales, per currency', () => {
    fc.assert(
      fc.property(planArb, scenarioArb, (p, [tree, events]) => {
        const statements = calculatePeriod(p, events, tree);
        for (const currency of ['USD', 'EUR']) {
          const sales = events
            .filter((e) => e.type === 'sale' && e.currency === currency)
            .reduce((s, e) => s + e.amount, 0n);
          const overrides = statements
            .filter((s) => s.currency === currency)
            .reduce((s, x) => s + x.overrides, 0n);
          expect(overrides * 10_000n).toBeLessThanOrEqual(sales * BigInt(p.overrides.maxShareBps));
          expect(overrides).toBeGreaterThanOrEqual(0n);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: recalculating (even with events in another order) gives identical statements', () => {
    fc.assert(
      fc.property(planArb, scenarioArb, fc.integer(), (p, [tree, events], seed) => {
        const once = calculatePeriod(p, events, tree);
        const shuffled = [...events].sort(() => 0).reverse();
        const treeShuffled = [...tree].sort(
          (x, y) => ((x.payeeId.charCodeAt(3) ^ seed) & 1 ? -1 : 1) || (x < y ? 1 : -1),
        );
        expect(calculatePeriod(p, events, tree)).toEqual(once);
        expect(calculatePeriod(p, shuffled, treeShuffled)).toEqual(once);
      }),
      { numRuns: 150 },
    );
  });

  it('uses integer minor units only, and each total is the sum of its lines', () => {
    fc.assert(
      fc.property(planArb, scenarioArb, (p, [tree, events]) => {
        for (const s of calculatePeriod(p, events, tree)) {
          for (const v of [s.commission, s.overrides, s.bonus, s.adjustments, s.total])
            expect(typeof v).toBe('bigint');
          expect(s.total).toBe(s.commission + s.overrides + s.bonus + s.adjustments);
          expect(Number.isInteger(s.personalVolume) && Number.isInteger(s.groupVolume)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
