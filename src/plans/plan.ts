// Compensation plan: a versioned JSON document, validated on load. Rates are basis points (1/100 of a
// percent) so every calculation stays in integers; money amounts are minor-unit strings.
import { z } from 'zod';

const bps = z.number().int().min(0).max(10_000);
const volume = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const minor = z.string().regex(/^\d{1,18}$/, 'must be integer minor units as a string, e.g. "5000"');

export const planSchema = z
  .strictObject({
    version: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ -')
      .describe('Plan version; periods record the version they were calculated with'),
    description: z.string().max(500).optional(),
    rounding: z
      .enum(['half_even', 'half_up', 'floor'])
      .describe('Rounding of commissions to minor units (overrides always round down)'),
    categories: z
      .record(z.string().regex(/^[a-z0-9_-]{1,40}$/), bps)
      .refine((c) => 'default' in c, 'needs a "default" category rate')
      .describe('Base commission rate (bps of the sale amount) per product category'),
    volumeTiers: z
      .array(z.strictObject({ minVolume: volume, extraRateBps: bps }))
      .min(1)
      .refine((t) => t[0]?.minVolume === 0, 'the first tier must start at minVolume 0')
      .refine(
        (t) => t.every((x, i) => i === 0 || x.minVolume > t[i - 1]!.minVolume),
        'tiers must be sorted by strictly increasing minVolume',
      )
      .describe('Extra rate (bps) added to the base rate by personal volume in the period'),
    rankBonuses: z
      .array(
        z.strictObject({
          rank: z.string().min(1).max(40),
          minPersonalVolume: volume,
          minGroupVolume: volume,
          amount: minor,
        }),
      )
      .describe('Fixed bonuses; a payee gets the last (highest) rank whose thresholds it meets'),
    bonusCurrency: z.string().regex(/^[A-Z]{3}$/),
    overrides: z
      .strictObject({
        levelsBps: z.array(bps).max(20).describe('Override rate per depth: [level 1, level 2, …]'),
        maxShareBps: bps.describe('Ceiling of all override levels together, in bps of sales'),
        compression: z.boolean().describe('Inactive payees are skipped: they neither earn nor use a level'),
        activeMinVolume: volume.describe('Personal volume needed to count as active'),
      })
      .refine((o) => o.levelsBps.reduce((a, b) => a + b, 0) <= o.maxShareBps, {
        message: 'the override levels add up to more than maxShareBps',
      }),
  })
  .superRefine((p, ctx) => {
    const ranks = new Set<string>();
    for (const [i, r] of p.rankBonuses.entries()) {
      if (ranks.has(r.rank))
        ctx.addIssue({ code: 'custom', path: ['rankBonuses', i, 'rank'], message: 'duplicate rank' });
      ranks.add(r.rank);
    }
  });

export type Plan = z.output<typeof planSchema>;

export class PlanInvalid extends Error {
  readonly code = 'plan_invalid';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`Compensation plan ${source} is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PlanInvalid';
    this.problems = problems;
  }
}

/** Validates a parsed JSON plan; throws PlanInvalid listing every problem with its JSON path. */
export function parsePlan(input: unknown, source = '(inline)'): Plan {
  const result = planSchema.safeParse(input);
  if (result.success) return result.data;
  throw new PlanInvalid(
    source,
    result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
  );
}
