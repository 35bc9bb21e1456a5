// The commission calculation: a pure, deterministic function of (plan, period activity, sponsor tree).
// Integer minor units (bigint) only. Rounding is explicit: commissions use the plan's rounding mode on the
// per-category total; overrides round down per earner and level, so their sum never exceeds the plan's
// share of the sales they are taken from.
import type { Plan } from './plan.ts';

export type EarningsType = 'sale' | 'commission' | 'bonus' | 'adjustment' | 'clawback';

/** One earnings event as the calculation sees it (amount: positive minor units; adjustments may be signed). */
export interface EarningsEvent {
  payeeId: string;
  type: EarningsType;
  amount: bigint;
  currency: string;
  category: string;
  volume: number;
}

/** A payee in the sponsor tree. */
export interface TreeNode {
  payeeId: string;
  sponsorId: string | null;
}

/** What one payee did in the period, summed (the database produces the same shape with GROUP BY). */
export interface PayeeActivity {
  payeeId: string;
  /** Net personal volume: sales and adjustments add, clawbacks subtract. */
  volume: number;
  /** Sale amounts per currency and category. */
  sales: { currency: string; category: string; amount: bigint }[];
  /** Commission, bonus and adjustment events add, clawbacks subtract (per currency). */
  passthrough: { currency: string; amount: bigint }[];
}

export interface Statement {
  payeeId: string;
  currency: string;
  personalVolume: number;
  groupVolume: number;
  rank: string | null;
  commission: bigint;
  overrides: bigint;
  bonus: bigint;
  /** Reported commissions/bonuses/adjustments minus clawbacks. */
  adjustments: bigint;
  total: bigint;
}

/** Sums events per payee: the in-memory twin of the period snapshot query. */
export function aggregateEvents(events: readonly EarningsEvent[]): PayeeActivity[] {
  const byPayee = new Map<
    string,
    { volume: number; sales: Map<string, bigint>; pass: Map<string, bigint> }
  >();
  for (const e of events) {
    let a = byPayee.get(e.payeeId);
    if (!a) {
      a = { volume: 0, sales: new Map(), pass: new Map() };
      byPayee.set(e.payeeId, a);
    }
    a.volume +=
      e.type === 'clawback' ? -e.volume : e.type === 'sale' || e.type === 'adjustment' ? e.volume : 0;
    if (e.type === 'sale') {
      const k = `${e.currency}|${e.category}`;
      a.sales.set(k, (a.sales.get(k) ?? 0n) + e.amount);
    } else {
      const signed = e.type === 'clawback' ? -e.amount : e.amount;
      a.pass.set(e.currency, (a.pass.get(e.currency) ?? 0n) + signed);
    }
  }
  return [...byPayee].map(([payeeId, a]) => ({
    payeeId,
    volume: a.volume,
    sales: [...a.sales].map(([k, amount]) => {
      const [currency, category] = k.split('|') as [string, string];
      return { currency, category, amount };
    }),
    passthrough: [...a.pass].map(([currency, amount]) => ({ currency, amount })),
  }));
}

/** Divides by 10 000 (bps) with the given rounding; n may be negative. */
export function applyBps(n: bigint, rateBps: number, mode: Plan['rounding']): bigint {
  const num = n * BigInt(rateBps);
  const d = 10_000n;
  const q = num / d; // truncates toward zero
  const r = num % d;
  if (r === 0n) return q;
  const neg = num < 0n;
  const absR = neg ? -r : r;
  if (mode === 'floor') return neg ? q - 1n : q;
  const twice = absR * 2n;
  const away = neg ? q - 1n : q + 1n;
  if (twice > d) return away;
  if (twice < d) return q;
  if (mode === 'half_up') return away;
  return q % 2n === 0n ? q : away; // half_even
}

/**
 * Everything derived from the whole tree once per calculation run: children, activity, active flags and
 * group volumes. Statements for any slice of payees are then computed from it (resumable batches).
 */
export interface CalculationContext {
  plan: Plan;
  activity: Map<string, PayeeActivity>;
  children: Map<string, string[]>;
  groupVolume: Map<string, number>;
  /** Payee ids that have statements to compute (activity or an active downline), sorted. */
  payeeIds: string[];
}

export function buildContext(
  plan: Plan,
  activities: readonly PayeeActivity[],
  tree: readonly TreeNode[],
): CalculationContext {
  const activity = new Map(activities.map((a) => [a.payeeId, a]));
  const children = new Map<string, string[]>();
  const sponsor = new Map<string, string | null>();
  for (const n of tree) {
    sponsor.set(n.payeeId, n.sponsorId);
    if (n.sponsorId) {
      const list = children.get(n.sponsorId);
      if (list) list.push(n.payeeId);
      else children.set(n.sponsorId, [n.payeeId]);
    }
  }
  for (const list of children.values()) list.sort();
  // Group volume = own volume + whole downline, accumulated bottom-up along each sponsor chain.
  const groupVolume = new Map<string, number>();
  for (const a of activities) {
    if (a.volume === 0) continue;
    let cursor: string | null | undefined = a.payeeId;
    let guard = 0;
    while (cursor && guard++ <= tree.length) {
      groupVolume.set(cursor, (groupVolume.get(cursor) ?? 0) + a.volume);
      cursor = sponsor.get(cursor);
    }
  }
  const ids = new Set<string>(activity.keys());
  for (const id of groupVolume.keys()) ids.add(id);
  return { plan, activity, children, groupVolume, payeeIds: [...ids].sort() };
}

function isActive(ctx: CalculationContext, payeeId: string): boolean {
  return (ctx.activity.get(payeeId)?.volume ?? 0) >= ctx.plan.overrides.activeMinVolume;
}

/** Sales per currency at each override level below `earner` (compressed levels when the plan says so). */
function downlineSalesByLevel(ctx: CalculationContext, earner: string): Map<string, bigint[]> {
  const levels = ctx.plan.overrides.levelsBps.length;
  const out = new Map<string, bigint[]>();
  if (levels === 0) return out;
  const stack: [string, number][] = (ctx.children.get(earner) ?? []).map((c) => [c, 1]);
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    for (const s of ctx.activity.get(node)?.sales ?? []) {
      let perLevel = out.get(s.currency);
      if (!perLevel) {
        perLevel = new Array<bigint>(levels).fill(0n);
        out.set(s.currency, perLevel);
      }
      perLevel[level - 1]! += s.amount;
    }
    const next = ctx.plan.overrides.compression && !isActive(ctx, node) ? level : level + 1;
    if (next > levels) continue;
    for (const c of ctx.children.get(node) ?? []) stack.push([c, next]);
  }
  return out;
}

/** Statements (one per payee and currency with anything to report) for the given payees, sorted. */
export function statementsFor(ctx: CalculationContext, payeeIds: readonly string[]): Statement[] {
  const { plan } = ctx;
  const out: Statement[] = [];
  for (const payeeId of payeeIds) {
    const a = ctx.activity.get(payeeId);
    const personalVolume = a?.volume ?? 0;
    const groupVolume = ctx.groupVolume.get(payeeId) ?? 0;
    const active = isActive(ctx, payeeId);
    const byCurrency = new Map<string, Omit<Statement, 'payeeId' | 'currency' | 'total'>>();
    const line = (currency: string) => {
      let s = byCurrency.get(currency);
      if (!s) {
        s = {
          personalVolume,
          groupVolume,
          rank: null,
          commission: 0n,
          overrides: 0n,
          bonus: 0n,
          adjustments: 0n,
        };
        byCurrency.set(currency, s);
      }
      return s;
    };
    let tierBps = 0;
    for (const t of plan.volumeTiers) if (personalVolume >= t.minVolume) tierBps = t.extraRateBps;
    for (const s of a?.sales ?? []) {
      const rate = (plan.categories[s.category] ?? plan.categories.default ?? 0) + tierBps;
      line(s.currency).commission += applyBps(s.amount, rate, plan.rounding);
    }
    for (const p of a?.passthrough ?? []) line(p.currency).adjustments += p.amount;
    if (active || !plan.overrides.compression) {
      for (const [currency, perLevel] of downlineSalesByLevel(ctx, payeeId)) {
        let sum = 0n;
        for (const [i, amount] of perLevel.entries()) {
          sum += applyBps(amount, plan.overrides.levelsBps[i]!, 'floor');
        }
        if (sum !== 0n) line(currency).overrides += sum;
      }
    }
    let rank: { rank: string; amount: string } | undefined;
    for (const r of plan.rankBonuses) {
      if (personalVolume >= r.minPersonalVolume && groupVolume >= r.minGroupVolume) rank = r;
    }
    if (rank && active) {
      const s = line(plan.bonusCurrency);
      s.bonus += BigInt(rank.amount);
    }
    for (const s of byCurrency.values()) s.rank = rank?.rank ?? null;
    for (const [currency, s] of [...byCurrency].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      out.push({ payeeId, currency, ...s, total: s.commission + s.overrides + s.bonus + s.adjustments });
    }
  }
  return out;
}

/** The whole calculation in one call: (plan, events, tree) → statements. */
export function calculatePeriod(
  plan: Plan,
  events: readonly EarningsEvent[],
  tree: readonly TreeNode[],
): Statement[] {
  const ctx = buildContext(plan, aggregateEvents(events), tree);
  return statementsFor(ctx, ctx.payeeIds);
}
