// Automated spendback/credit rules: a versioned JSON document (like the compensation plan), validated on
// load. Amount maps are integer MINOR units per currency; percentages are decimal strings with at most two
// decimals and are kept as basis points so every computation stays in integers.
import { z } from 'zod';
import { PERIOD_ID, type PeriodCalendar, periodIdFor } from '../periods/calendar.ts';

export type RuleKind = 'earnings_threshold' | 'spendback_bonus' | 'next_purchase_discount';

export interface EarningsThresholdRule {
  readonly id: string;
  readonly kind: 'earnings_threshold';
  /** Period earnings at or above this (per currency) fire the rule. */
  readonly threshold: Readonly<Record<string, bigint>>;
  /** Either a fixed grant per currency or basis points of the period earnings. */
  readonly grant: { readonly fixed: Readonly<Record<string, bigint>> } | { readonly bps: number };
  readonly validityMs: number | null;
}

export interface SpendbackBonusRule {
  readonly id: string;
  readonly kind: 'spendback_bonus';
  /** Restricted credit granted, in basis points of the part of the purchase paid from available earnings. */
  readonly bps: number;
  /** 'order' = every purchase earns it; 'period' = only the first purchase of the period. */
  readonly oncePer: 'order' | 'period';
  readonly validityMs: number | null;
}

export interface NextPurchaseDiscountRule {
  readonly id: string;
  readonly kind: 'next_purchase_discount';
  /** Period sales (earnings credited) at or above this earn the discount. */
  readonly threshold: Readonly<Record<string, bigint>>;
  readonly bps: number;
}

export type SpendbackRule = EarningsThresholdRule | SpendbackBonusRule | NextPurchaseDiscountRule;

export interface SpendbackRules {
  readonly version: string;
  readonly rules: readonly SpendbackRule[];
}

export const NO_RULES: SpendbackRules = Object.freeze({ version: 'none', rules: [] });

const DURATION_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000 };
const minor = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().min(0)]).transform((v) => BigInt(v));
const amountMap = z.record(z.string(), minor).superRefine((m, ctx) => {
  if (Object.keys(m).length === 0) ctx.addIssue({ code: 'custom', message: 'name at least one currency' });
  for (const key of Object.keys(m)) {
    if (!/^[A-Z]{3}$/.test(key))
      ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" must be an ISO 4217 code such as USD` });
  }
});
const percent = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,2})?$/, 'must be a decimal string with at most 2 decimals, e.g. "2.5"')
  .transform((s) => percentToBps(s))
  .refine((bps) => bps > 0 && bps <= 10_000, 'must be more than 0 and at most 100');
const validity = z
  .string()
  .regex(/^\d{1,5}[hd]$/, 'must be a duration in hours or days, e.g. "90d"')
  .transform((s) => Number(s.slice(0, -1)) * DURATION_MS[s.slice(-1)]!)
  .optional();
const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower case letters, digits, - and _');

const ruleSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    id: ruleId,
    kind: z.literal('earnings_threshold'),
    threshold: amountMap,
    grant: z.union([
      z.strictObject({ fixed: amountMap }),
      z.strictObject({ percent }).transform((g) => ({ bps: g.percent })),
    ]),
    validity,
  }),
  z.strictObject({
    id: ruleId,
    kind: z.literal('spendback_bonus'),
    percent,
    // Issue 6: every trigger fires at most once per (rule, payee, period); 'order' is an explicit opt-in.
    oncePer: z.enum(['order', 'period']).default('period'),
    validity,
  }),
  z.strictObject({
    id: ruleId,
    kind: z.literal('next_purchase_discount'),
    threshold: amountMap,
    percent,
  }),
]);

const documentSchema = z.strictObject({
  version: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, '1-40 characters of letters, digits, . _ -'),
  rules: z.array(ruleSchema).max(100),
});

/** "2.5" → 250 basis points (exact: integer arithmetic on the digits). */
export function percentToBps(text: string): number {
  const [whole, frac = ''] = text.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

/** bps of an amount, rounded down to a whole minor unit (the platform never over-grants). */
export function applyBps(amount: bigint, bps: number): bigint {
  return (amount * BigInt(bps)) / 10_000n;
}

/** Parses and validates a rules document; throws an Error naming every problem. */
export function parseRules(input: unknown): SpendbackRules {
  const parsed = documentSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; '),
    );
  }
  const seen = new Set<string>();
  const rules: SpendbackRule[] = parsed.data.rules.map((r) => {
    if (seen.has(r.id)) throw new Error(`rules: id "${r.id}" is used twice`);
    seen.add(r.id);
    switch (r.kind) {
      case 'earnings_threshold':
        return {
          id: r.id,
          kind: r.kind,
          threshold: r.threshold,
          grant: 'fixed' in r.grant ? { fixed: r.grant.fixed } : { bps: r.grant.bps },
          validityMs: r.validity ?? null,
        };
      case 'spendback_bonus':
        return { id: r.id, kind: r.kind, bps: r.percent, oncePer: r.oncePer, validityMs: r.validity ?? null };
      default:
        return { id: r.id, kind: r.kind, threshold: r.threshold, bps: r.percent };
    }
  });
  return Object.freeze({ version: parsed.data.version, rules: Object.freeze(rules) });
}

/** Rules from JSON text. */
export function parseRulesJson(text: string): SpendbackRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('must be JSON: {"version":"…","rules":[{"id":"…","kind":"earnings_threshold",…}]}');
  }
  return parseRules(json);
}

/** The commission period a moment belongs to, on the platform's period calendar (default: UTC months). */
export function periodOf(at: Date, calendar: PeriodCalendar = UTC_MONTHS): string {
  return periodIdFor(at, calendar);
}

export const UTC_MONTHS: PeriodCalendar = { kind: 'monthly', timezone: 'UTC' };

const pad = (n: number) => String(n).padStart(2, '0');
const ymd = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

/**
 * First day and the day after the last day (local calendar dates, `YYYY-MM-DD`) of a period id: monthly
 * `2026-11`, semi-monthly `2026-11-H1`/`-H2`, weekly ISO `2026-W47`. The database turns them into
 * instants in the calendar's timezone.
 */
export function periodDates(period: string): { start: string; end: string } {
  if (!PERIOD_ID.test(period)) {
    throw new Error(`period "${period}" must be a period id such as 2026-11, 2026-11-H1 or 2026-W47`);
  }
  const year = Number(period.slice(0, 4));
  const week = /^\d{4}-W(\d{2})$/.exec(period);
  if (week) {
    const jan4 = new Date(Date.UTC(year, 0, 4));
    const monday = Date.UTC(year, 0, 4) - ((jan4.getUTCDay() || 7) - 1) * 86_400_000;
    const start = new Date(monday + (Number(week[1]) - 1) * 7 * 86_400_000);
    return { start: ymd(start), end: ymd(new Date(start.getTime() + 7 * 86_400_000)) };
  }
  const month = Number(period.slice(5, 7)) - 1;
  if (month > 11) throw new Error(`period "${period}" has no month ${month + 1}`);
  const first = new Date(Date.UTC(year, month, 1));
  const next = new Date(Date.UTC(year, month + 1, 1));
  const mid = new Date(Date.UTC(year, month, 16));
  if (period.endsWith('-H1')) return { start: ymd(first), end: ymd(mid) };
  if (period.endsWith('-H2')) return { start: ymd(mid), end: ymd(next) };
  return { start: ymd(first), end: ymd(next) };
}
