// Commission periods: calendar, plans, calculation batch size, approval timers and thresholds, payout
// fan-out window.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isValidTimezone } from '../periods/calendar.ts';
import { graceProblem } from '../periods/close-grace.ts';
import { duration, parseAmountMap, refined as refine } from './payouts.ts';
import { defineConfigSection, intVar, type SectionValue } from './section.ts';

const defaultPlansDir = fileURLToPath(new URL('../../config/plans', import.meta.url));

export const periodsSection = defineConfigSection(
  'periods',
  z
    .object({
      PERIOD_CALENDAR: z
        .enum(['weekly', 'semi_monthly', 'monthly'])
        .default('monthly')
        .describe('weekly, semi_monthly or monthly (default monthly)'),
      PERIOD_TIMEZONE: z
        .string()
        .default('UTC')
        .refine(isValidTimezone, 'is not an IANA timezone')
        .describe('IANA timezone of the period calendar, e.g. America/New_York (default UTC)'),
      PLANS_DIR: z.string().default(defaultPlansDir).describe('directory of compensation plan JSON files'),
      PLAN_VERSION: z
        .string()
        .default('standard-2026.1')
        .describe('plan version used to calculate periods unless one is given at close'),
      PERIOD_BATCH_SIZE: intVar(10, 50_000, 2_000).describe('payees per calculation/posting batch'),
      PERIOD_PAYOUT_WINDOW: intVar(1, 500, 500).describe('payout workflows in flight per period (max 500)'),
      PERIOD_APPROVAL_REMINDER: duration('24h', 'remind approvers after'),
      PERIOD_APPROVAL_ESCALATION: duration('72h', 'escalate an unapproved period after'),
      PERIOD_CLOSE_GRACE: duration(
        '24h',
        'late events are still booked in a period this long after it ends; then the period-close schedule closes it (shorter than one period)',
      ),
      PERIOD_DUAL_CONTROL_THRESHOLD: z
        .string()
        .default('USD:10000000')
        .transform(refine(parseAmountMap))
        .describe(
          'period total per currency above which two distinct approvers are needed, e.g. USD:10000000',
        ),
    })
    .superRefine((v, ctx) => {
      const problem = graceProblem(v.PERIOD_CALENDAR, v.PERIOD_CLOSE_GRACE);
      if (problem) ctx.addIssue({ code: 'custom', path: ['PERIOD_CLOSE_GRACE'], message: problem });
    }),
  (v) => ({
    calendar: { kind: v.PERIOD_CALENDAR, timezone: v.PERIOD_TIMEZONE },
    closeGraceMs: v.PERIOD_CLOSE_GRACE,
    plansDir: v.PLANS_DIR,
    defaultPlanVersion: v.PLAN_VERSION,
    batchSize: v.PERIOD_BATCH_SIZE,
    payoutWindow: v.PERIOD_PAYOUT_WINDOW,
    reminderMs: v.PERIOD_APPROVAL_REMINDER,
    escalationMs: v.PERIOD_APPROVAL_ESCALATION,
    dualControlThreshold: Object.fromEntries(
      Object.entries(v.PERIOD_DUAL_CONTROL_THRESHOLD).map(([c, n]) => [c, n.toString()]),
    ) as Record<string, string>,
  }),
);

export type PeriodsConfig = SectionValue<typeof periodsSection>;

/** Defaults (no variables set), for callers that build services without a full configuration. */
export function defaultPeriodsConfig(env: Record<string, string | undefined> = {}): PeriodsConfig {
  const r = periodsSection.parse(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.value;
}
