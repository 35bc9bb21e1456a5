// Spendback purchases and their refunds: one ledger transaction each, in the caller's database transaction.
// Spend locks the payee's active grants (soonest expiry first) before the ledger locks the accounts, so
// purchases, refunds and expiries of one wallet serialise; the ledger's row locks and CHECKs keep a
// concurrent payout hold from overdrawing payee_available.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreditGrantTimerInput } from '../../workflows/credit-grant-contract.ts';
import { InsufficientFunds, lockPayeeWallet } from '../ledger/index.ts';
import type { EntryInput } from '../ledger/posting.ts';
import { type Money, money } from '../money/index.ts';
import { webhookEventId } from '../webhooks/index.ts';
import { bonusClawback, splitRefund, splitSpend } from './allocate.ts';
import { bpsToPercent, PROMOTIONS, type SpendbackContext } from './context.ts';
import { SpendbackError } from './errors.ts';
import type { GrantView } from './grants.ts';
import type { Discount, OrderKey, OrderRow, RefundRow } from './store.ts';
import { evaluateSpendbackBonus } from './triggers.ts';

export type { Discount } from './store.ts';

export interface SpendbackView {
  payeeId: string;
  orderReference: string;
  amount: Money;
  fromRestricted: Money;
  fromAvailable: Money;
  grants: { grantId: string; amount: Money }[];
  refunded: Money;
  transactionId: string;
  bonusGrantId: string | null;
  /** A discount the payee earned (sales threshold), reported once so the storefront can apply it. */
  nextPurchaseDiscount: Discount | null;
  createdAt: string;
}

export interface RefundView {
  payeeId: string;
  orderReference: string;
  refundReference: string;
  amount: Money;
  toAvailable: Money;
  toRestricted: Money;
  /** Restricted credit whose grant had expired: returned to the platform, not to the payee. */
  toPlatform: Money;
  /** Spendback bonus taken back because the purchase that earned it was refunded. */
  bonusClawedBack: Money;
  transactionId: string;
  createdAt: string;
}

async function orderView(ctx: SpendbackContext, em: EntityManager, o: OrderRow): Promise<SpendbackView> {
  const key = { payeeId: o.payee_id, orderReference: o.order_reference };
  const allocations = await ctx.store.allocations(em, key);
  const refunded = await ctx.store.refundedTotal(em, key);
  return {
    payeeId: o.payee_id,
    orderReference: o.order_reference,
    amount: money(o.amount, o.currency),
    fromRestricted: money(o.from_restricted, o.currency),
    fromAvailable: money(o.from_available, o.currency),
    grants: allocations.map((a) => ({ grantId: a.grant_id, amount: money(a.amount, o.currency) })),
    refunded: money(refunded, o.currency),
    transactionId: o.transaction_id,
    bonusGrantId: o.bonus_grant_id,
    nextPurchaseDiscount: o.discount,
    createdAt: new Date(o.created_at).toISOString(),
  };
}

export async function getOrder(
  ctx: SpendbackContext,
  em: EntityManager,
  payeeId: string,
  orderReference: string,
): Promise<SpendbackView | null> {
  const row = await ctx.store.order(em, { payeeId, orderReference });
  return row ? orderView(ctx, em, row) : null;
}

/** One order as a list shows it: what it cost, where the money came from, what was refunded of it. */
export interface OrderSummary {
  orderReference: string;
  amount: Money;
  fromRestricted: Money;
  fromAvailable: Money;
  refundedAvailable: Money;
  createdAt: string;
}

/** A payee's orders, newest first (at most `limit`). */
export async function listOrders(
  ctx: SpendbackContext,
  em: EntityManager,
  payeeId: string,
  limit: number,
): Promise<OrderSummary[]> {
  return (await ctx.store.ordersOf(em, payeeId, limit)).map((o) => ({
    orderReference: o.order_reference,
    amount: money(o.amount, o.currency),
    fromRestricted: money(o.from_restricted, o.currency),
    fromAvailable: money(o.from_available, o.currency),
    refundedAvailable: money(o.refunded_available, o.currency),
    createdAt: new Date(o.created_at).toISOString(),
  }));
}

export interface SpendResult {
  view: SpendbackView;
  replayed: boolean;
  bonusGrant: GrantView | null;
  timers: CreditGrantTimerInput[];
  /** spendback.completed outbox event to deliver once committed (null on replay). */
  eventId: string | null;
}

function sameOrder(o: OrderRow, amount: Money): boolean {
  return o.amount === amount.amount && o.currency === amount.currency;
}

function replayOf(
  ctx: SpendbackContext,
  em: EntityManager,
  o: OrderRow,
  amount: Money,
): Promise<SpendbackView> {
  if (!sameOrder(o, amount)) {
    throw new SpendbackError(
      'conflict',
      'order_reference_reused',
      `order ${o.order_reference} was already paid with ${o.amount} ${o.currency} minor units; ` +
        'an order reference is spent at most once — use a new reference for a new order',
    );
  }
  return orderView(ctx, em, o);
}

/** A purchase paid from restricted credit first (soonest-expiring grant first), then available earnings. */
export async function spend(
  ctx: SpendbackContext,
  em: EntityManager,
  input: { payeeId: string; orderReference: string; amount: Money },
): Promise<SpendResult> {
  const { payeeId, orderReference, amount } = input;
  const key: OrderKey = { payeeId, orderReference };
  const existing = await ctx.store.order(em, key);
  if (existing) {
    return {
      view: await replayOf(ctx, em, existing, amount),
      replayed: true,
      bonusGrant: null,
      timers: [],
      eventId: null,
    };
  }
  const now = ctx.now();
  const grants = await ctx.store.lockSpendableGrants(em, payeeId, amount.currency, now);
  const split = splitSpend(
    BigInt(amount.amount),
    grants.map((g) => ({ grantId: g.id, remaining: BigInt(g.remaining) })),
  );
  await lockPayeeWallet(em, ctx.db.schema, payeeId, amount.currency);
  const ledgerKey = `spendback:${payeeId}:${orderReference}`;
  // Claim the order first: a concurrent request for the same order waits here, then replays.
  const claimed = await ctx.store.claimOrder(em, {
    ...key,
    currency: amount.currency,
    amount: amount.amount,
    fromRestricted: split.fromRestricted,
    fromAvailable: split.fromAvailable,
    transactionId: ledgerKey,
  });
  if (!claimed) {
    const other = (await ctx.store.order(em, key))!;
    return {
      view: await replayOf(ctx, em, other, amount),
      replayed: true,
      bonusGrant: null,
      timers: [],
      eventId: null,
    };
  }
  const c = amount.currency;
  const entries: EntryInput[] = [];
  if (split.fromRestricted > 0n) {
    entries.push(
      { account: { kind: 'payee_restricted', owner: payeeId }, amount: money(-split.fromRestricted, c) },
      // Promotion leg: revenue paid for with the platform's own promotional credit.
      { account: { kind: 'spendback_revenue', owner: PROMOTIONS }, amount: money(split.fromRestricted, c) },
    );
  }
  if (split.fromAvailable > 0n) {
    entries.push(
      { account: { kind: 'payee_available', owner: payeeId }, amount: money(-split.fromAvailable, c) },
      { account: { kind: 'spendback_revenue' }, amount: money(split.fromAvailable, c) },
    );
  }
  let posted: Awaited<ReturnType<typeof ctx.ledger.post>>;
  try {
    posted = await ctx.ledger.within(em).post({
      type: 'spendback.purchase',
      idempotencyKey: ledgerKey,
      metadata: {
        payeeId,
        reference: orderReference,
        grants: split.grants.map((g) => ({ grantId: g.grantId, amount: g.amount.toString() })),
      },
      entries,
    });
  } catch (error) {
    if (error instanceof InsufficientFunds) {
      throw new SpendbackError(
        'insufficient_funds',
        'insufficient_funds',
        `order ${orderReference} costs ${amount.amount} ${c} minor units; the payee has ${split.fromRestricted} ` +
          `in restricted credit and ${error.available} available (held payouts excluded). Nothing was charged.`,
      );
    }
    throw error;
  }
  for (const [seq, g] of split.grants.entries()) {
    await ctx.store.insertAllocation(em, key, { grantId: g.grantId, seq, amount: g.amount });
    await ctx.store.addToGrant(em, g.grantId, -g.amount);
  }
  const bonus = await evaluateSpendbackBonus(ctx, em, {
    payeeId,
    currency: c,
    orderReference,
    fromAvailable: split.fromAvailable,
  });
  const bonusGrant = bonus.fired.find((f) => f.grant)?.grant ?? null;
  const discount = await takeDiscount(ctx, em, key);
  await ctx.store.completeOrder(em, key, {
    transactionId: posted.id,
    bonusGrantId: bonusGrant?.id ?? null,
    discount,
  });
  const view = (await getOrder(ctx, em, payeeId, orderReference))!;
  const eventId = webhookEventId('spendback.completed', payeeId, orderReference);
  await ctx.outbox.enqueue(
    {
      id: eventId,
      type: 'spendback.completed',
      occurredAt: now,
      data: { spendback: view, bonusGrant },
    },
    em,
  );
  return { view, replayed: false, bonusGrant, timers: bonus.timers, eventId };
}

/** The oldest earned, not yet reported next-purchase discount; marks it reported with this order. */
async function takeDiscount(
  ctx: SpendbackContext,
  em: EntityManager,
  key: OrderKey,
): Promise<Discount | null> {
  const row = await ctx.store.takeDiscount(em, key);
  if (!row) return null;
  return {
    ruleId: row.rule_id,
    ruleVersion: row.rule_version,
    percent: bpsToPercent(row.discount_bps),
    period: row.period,
  };
}

function refundView(r: RefundRow, currency: string): RefundView {
  return {
    payeeId: r.payee_id,
    orderReference: r.order_reference,
    refundReference: r.refund_reference,
    amount: money(r.amount, currency),
    toAvailable: money(r.to_available, currency),
    toRestricted: money(r.to_restricted, currency),
    toPlatform: money(r.to_platform, currency),
    bonusClawedBack: money(r.bonus_clawed, currency),
    transactionId: r.transaction_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/**
 * Refunds part or all of a purchase back to where it came from: available first, then each grant (back to
 * the grant while it is active, to the platform once it expired). Never more than is left to refund.
 */
export async function refund(
  ctx: SpendbackContext,
  em: EntityManager,
  input: { payeeId: string; orderReference: string; refundReference: string; amount: Money },
): Promise<{ view: RefundView; replayed: boolean; eventId: string | null }> {
  const { payeeId, orderReference, refundReference, amount } = input;
  const key: OrderKey = { payeeId, orderReference };
  const order = await ctx.store.order(em, key, true);
  if (!order) {
    throw new SpendbackError(
      'not_found',
      'order_not_found',
      `No spendback order ${orderReference} for payee ${payeeId}`,
    );
  }
  const c = order.currency;
  if (amount.currency !== c) {
    throw new SpendbackError(
      'unprocessable',
      'currency_mismatch',
      `order ${orderReference} was paid in ${c}; refund in ${c}`,
    );
  }
  const done = await ctx.store.refund(em, key, refundReference);
  if (done) {
    if (done.amount !== amount.amount) {
      throw new SpendbackError(
        'conflict',
        'refund_reference_reused',
        `refund ${refundReference} of order ${orderReference} was already made for ${done.amount} ${c} minor units`,
      );
    }
    return { view: refundView(done, c), replayed: true, eventId: null };
  }
  // The order's grants and its bonus grant, locked in the order purchases lock grants (soonest expiry first).
  const grants = await ctx.store.lockOrderGrants(em, key, order.bonus_grant_id);
  const grantById = new Map(grants.map((g) => [g.id, g]));
  const allocations = (await ctx.store.allocations(em, key)).map((a) => ({
    ...a,
    status: grantById.get(a.grant_id)!.status,
  }));
  await lockPayeeWallet(em, ctx.db.schema, payeeId, c);
  let split: ReturnType<typeof splitRefund>;
  try {
    split = splitRefund(BigInt(amount.amount), {
      availableLeft: BigInt(order.from_available) - BigInt(order.refunded_available),
      grants: allocations.map((a) => ({ grantId: a.grant_id, left: BigInt(a.amount) - BigInt(a.refunded) })),
    });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new SpendbackError(
        'unprocessable',
        'refund_exceeds_order',
        `refund of ${amount.amount} ${c} minor units exceeds what is left of order ${orderReference}: ${error.message}`,
      );
    }
    throw error;
  }
  const byGrant = new Map(allocations.map((a) => [a.grant_id, a]));
  let toRestricted = 0n;
  let toPlatform = 0n;
  for (const g of split.grants) {
    if (byGrant.get(g.grantId)!.status === 'active') toRestricted += g.amount;
    else toPlatform += g.amount;
  }
  const entries: EntryInput[] = [];
  if (split.toAvailable > 0n) {
    entries.push(
      { account: { kind: 'spendback_revenue' }, amount: money(-split.toAvailable, c) },
      { account: { kind: 'payee_available', owner: payeeId }, amount: money(split.toAvailable, c) },
    );
  }
  if (toRestricted + toPlatform > 0n) {
    entries.push({
      account: { kind: 'spendback_revenue', owner: PROMOTIONS },
      amount: money(-(toRestricted + toPlatform), c),
    });
  }
  if (toRestricted > 0n) {
    entries.push({ account: { kind: 'payee_restricted', owner: payeeId }, amount: money(toRestricted, c) });
  }
  if (toPlatform > 0n) {
    entries.push({ account: { kind: 'platform_funding', owner: PROMOTIONS }, amount: money(toPlatform, c) });
  }
  // The spendback bonus this purchase earned shrinks with it (from what is left of the bonus grant).
  const bonusGrant = order.bonus_grant_id ? grantById.get(order.bonus_grant_id) : undefined;
  let clawed = 0n;
  if (bonusGrant && bonusGrant.status === 'active') {
    const due = bonusClawback({
      bonus: BigInt(bonusGrant.amount),
      fromAvailable: BigInt(order.from_available),
      refundedAvailable: BigInt(order.refunded_available) + split.toAvailable,
      clawedBefore: BigInt(order.bonus_clawed),
    });
    const left =
      BigInt(bonusGrant.remaining) + (split.grants.find((g) => g.grantId === bonusGrant.id)?.amount ?? 0n);
    clawed = due < left ? due : left;
  }
  if (clawed > 0n) {
    entries.push(
      { account: { kind: 'payee_restricted', owner: payeeId }, amount: money(-clawed, c) },
      { account: { kind: 'platform_funding', owner: PROMOTIONS }, amount: money(clawed, c) },
    );
  }
  const posted = await ctx.ledger.within(em).post({
    type: 'spendback.refund',
    idempotencyKey: `spendback-refund:${payeeId}:${orderReference}:${refundReference}`,
    metadata: {
      payeeId,
      reference: orderReference,
      refundReference,
      grants: split.grants.map((g) => ({ grantId: g.grantId, amount: g.amount.toString() })),
      ...(clawed > 0n ? { bonusClawedBack: { grantId: bonusGrant!.id, amount: clawed.toString() } } : {}),
    },
    entries,
  });
  for (const g of split.grants) {
    await ctx.store.addRefundToAllocation(em, key, g.grantId, g.amount);
    if (byGrant.get(g.grantId)!.status === 'active') await ctx.store.addToGrant(em, g.grantId, g.amount);
  }
  if (clawed > 0n) await ctx.store.addToGrant(em, bonusGrant!.id, -clawed);
  await ctx.store.addRefundToOrder(em, key, split.toAvailable, clawed);
  const row = await ctx.store.insertRefund(em, key, {
    refundReference,
    amount: amount.amount,
    toAvailable: split.toAvailable,
    toRestricted,
    toPlatform,
    transactionId: posted.id,
    clawed,
  });
  const view = refundView(row, c);
  const eventId = webhookEventId('spendback.refunded', payeeId, `${orderReference}:${refundReference}`);
  await ctx.outbox.enqueue(
    {
      id: eventId,
      type: 'spendback.refunded',
      occurredAt: ctx.now(),
      data: { refund: view },
    },
    em,
  );
  return { view, replayed: false, eventId };
}
