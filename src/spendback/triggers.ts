// Automated rules. Each fires at most once per (rule, payee, occasion): the occasion is the period for
// threshold and discount rules (and period-scoped bonuses), the order for per-purchase bonuses. The
// trigger_firings primary key is the business key; the grant's ledger posting carries rule id and version.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreditGrantTimerInput } from '../../workflows/credit-grant-contract.ts';
import { type DayWindow, earningsCredited, payeesCreditedEarnings } from '../ledger/index.ts';
import { money } from '../money/index.ts';
import { bpsToPercent, type SpendbackContext, startTimers } from './context.ts';
import { createGrant, type GrantView } from './grants.ts';
import { applyBps, periodDates, periodOf, type SpendbackRule } from './rules.ts';
import type { GrantTimers } from './timers.ts';

export interface Firing {
  ruleId: string;
  ruleVersion: string;
  kind: SpendbackRule['kind'];
  period: string;
  occasion: string;
  grant: GrantView | null;
  discountPercent: string | null;
}

export interface Evaluation {
  fired: Firing[];
  timers: CreditGrantTimerInput[];
}

/** Sum of earnings credited to the payee's available balance in the period (minor units). */
export async function periodEarnings(
  ctx: SpendbackContext,
  em: EntityManager,
  payeeId: string,
  currency: string,
  period: string,
): Promise<bigint> {
  return earningsCredited(em, ctx.db.schema, payeeId, currency, periodWindow(ctx, period));
}

function periodWindow(ctx: SpendbackContext, period: string): DayWindow {
  const { start, end } = periodDates(period);
  return { from: start, to: end, timezone: ctx.calendar.timezone };
}

/** Claims the (rule, payee, occasion) key; false when it already fired. */
async function claim(
  ctx: SpendbackContext,
  em: EntityManager,
  f: {
    rule: SpendbackRule;
    payeeId: string;
    occasion: string;
    period: string;
    currency: string;
    basis: bigint;
    discountBps?: number;
  },
): Promise<boolean> {
  return ctx.store.claimFiring(em, {
    ruleId: f.rule.id,
    payeeId: f.payeeId,
    occasion: f.occasion,
    kind: f.rule.kind,
    ruleVersion: ctx.settings.rules.version,
    period: f.period,
    currency: f.currency,
    basis: f.basis,
    discountBps: f.discountBps ?? null,
  });
}

async function grantFor(
  ctx: SpendbackContext,
  em: EntityManager,
  out: Evaluation,
  g: {
    rule: SpendbackRule;
    payeeId: string;
    occasion: string;
    period: string;
    amount: bigint;
    currency: string;
    validityMs: number | null;
  },
): Promise<GrantView | null> {
  if (g.amount <= 0n) return null;
  const version = ctx.settings.rules.version;
  const result = await createGrant(ctx, em, {
    payeeId: g.payeeId,
    amount: money(g.amount, g.currency),
    reference: `rule:${g.rule.id}:${g.occasion}`,
    expiresAt: new Date(ctx.now().getTime() + (g.validityMs ?? ctx.settings.grantValidityMs)),
    source: 'rule',
    ruleId: g.rule.id,
    ruleVersion: version,
    period: g.period,
    reason: `${g.rule.kind} rule ${g.rule.id} (version ${version})`,
  });
  if (result.timer) out.timers.push(result.timer);
  await ctx.store.setFiringGrant(
    em,
    { ruleId: g.rule.id, payeeId: g.payeeId, occasion: g.occasion },
    result.grant.id,
  );
  return result.grant;
}

/**
 * Earnings-threshold and next-purchase-discount rules for one payee and currency in a period, in `em`'s
 * transaction. Called when earnings are credited (current period) and at period close.
 */
export async function evaluateEarnings(
  ctx: SpendbackContext,
  em: EntityManager,
  input: { payeeId: string; currency: string; period?: string },
): Promise<Evaluation> {
  const out: Evaluation = { fired: [], timers: [] };
  const rules = ctx.settings.rules.rules.filter((r) => r.kind !== 'spendback_bonus');
  if (rules.length === 0) return out;
  const period = input.period ?? periodOf(ctx.now(), ctx.calendar);
  const earned = await periodEarnings(ctx, em, input.payeeId, input.currency, period);
  for (const rule of rules) {
    const threshold = rule.threshold[input.currency];
    if (threshold === undefined || earned < threshold) continue;
    const base = {
      rule,
      payeeId: input.payeeId,
      occasion: period,
      period,
      currency: input.currency,
      basis: earned,
    };
    if (rule.kind === 'next_purchase_discount') {
      if (!(await claim(ctx, em, { ...base, discountBps: rule.bps }))) continue;
      out.fired.push(firing(ctx, rule, period, period, null, rule.bps));
      continue;
    }
    if (!(await claim(ctx, em, base))) continue;
    const amount =
      'fixed' in rule.grant ? (rule.grant.fixed[input.currency] ?? 0n) : applyBps(earned, rule.grant.bps);
    const grant = await grantFor(ctx, em, out, { ...base, amount, validityMs: rule.validityMs });
    out.fired.push(firing(ctx, rule, period, period, grant, null));
  }
  return out;
}

/** Spendback bonus rules for one purchase: +N% of the part paid from available earnings, as restricted credit. */
export async function evaluateSpendbackBonus(
  ctx: SpendbackContext,
  em: EntityManager,
  input: { payeeId: string; currency: string; orderReference: string; fromAvailable: bigint },
): Promise<Evaluation> {
  const out: Evaluation = { fired: [], timers: [] };
  const period = periodOf(ctx.now(), ctx.calendar);
  for (const rule of ctx.settings.rules.rules) {
    if (rule.kind !== 'spendback_bonus') continue;
    const amount = applyBps(input.fromAvailable, rule.bps);
    if (amount <= 0n) continue;
    const occasion = rule.oncePer === 'order' ? `order:${input.orderReference}` : period;
    const base = {
      rule,
      payeeId: input.payeeId,
      occasion,
      period,
      currency: input.currency,
      basis: input.fromAvailable,
    };
    if (!(await claim(ctx, em, base))) continue;
    const grant = await grantFor(ctx, em, out, { ...base, amount, validityMs: rule.validityMs });
    out.fired.push(firing(ctx, rule, period, occasion, grant, null));
  }
  return out;
}

function firing(
  ctx: SpendbackContext,
  rule: SpendbackRule,
  period: string,
  occasion: string,
  grant: GrantView | null,
  discountBps: number | null,
): Firing {
  return {
    ruleId: rule.id,
    ruleVersion: ctx.settings.rules.version,
    kind: rule.kind,
    period,
    occasion,
    grant,
    discountPercent: discountBps === null ? null : bpsToPercent(discountBps),
  };
}

/**
 * Period close: evaluates the threshold and discount rules for every payee with earnings in `period`,
 * one transaction per payee and currency. Safe to call any number of times (and concurrently).
 */
export async function evaluatePeriodTriggers(
  ctx: SpendbackContext,
  period: string,
  timers: GrantTimers | undefined,
): Promise<{ payees: number; fired: number }> {
  const pairs = await payeesCreditedEarnings(ctx.db.em(), ctx.db.schema, periodWindow(ctx, period));
  let fired = 0;
  for (const p of pairs) {
    fired += await ctx.db.em().transactional(async (em) => {
      const result = await evaluateEarnings(ctx, em, { payeeId: p.payeeId, currency: p.currency, period });
      await startTimers(ctx, em, timers, result.timers);
      return result.fired.length;
    });
  }
  return { payees: new Set(pairs.map((p) => p.payeeId)).size, fired };
}

/** Firings of a payee, newest first (what fired, when, by which rule version). */
export async function listFirings(ctx: SpendbackContext, em: EntityManager, payeeId: string) {
  const rows = await ctx.store.firingsOf(em, payeeId);
  return rows.map((r) => ({
    ruleId: r.rule_id,
    kind: r.kind,
    ruleVersion: r.rule_version,
    period: r.period,
    occasion: r.occasion,
    basis: money(r.basis, r.currency),
    grantId: r.grant_id,
    discountPercent: r.discount_bps === null ? null : bpsToPercent(r.discount_bps),
    reportedWithOrder: r.reported_order,
    firedAt: new Date(r.created_at).toISOString(),
  }));
}
