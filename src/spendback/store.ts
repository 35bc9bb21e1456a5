// The spendback tables (credit_grants, spendback_orders, spendback_allocations, spendback_refunds,
// trigger_firings): every statement of the spendback modules, each on the caller's EntityManager so they
// decide what commits together and which rows stay locked. Amounts are minor units (bigint in, text out).
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualifyTables } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';

export interface GrantRow {
  id: string;
  payee_id: string;
  reference: string;
  currency: string;
  amount: string;
  remaining: string;
  status: 'active' | 'expired';
  source: 'manual' | 'rule';
  rule_id: string | null;
  rule_version: string | null;
  reason: string | null;
  expires_at: Date | string;
  expired_amount: string | null;
  expired_at: Date | string | null;
  notice_sent_at: Date | string | null;
  created_at: Date | string;
}

/** A next-purchase discount a payee earned, as reported with the order that took it. */
export interface Discount {
  ruleId: string;
  ruleVersion: string;
  percent: string;
  period: string;
}

export interface OrderRow {
  payee_id: string;
  order_reference: string;
  currency: string;
  amount: string;
  from_restricted: string;
  from_available: string;
  refunded_available: string;
  transaction_id: string;
  bonus_grant_id: string | null;
  discount: Discount | null;
  bonus_clawed: string;
  created_at: Date | string;
}

export interface AllocationRow {
  grant_id: string;
  seq: number;
  amount: string;
  refunded: string;
}

export interface RefundRow {
  payee_id: string;
  order_reference: string;
  refund_reference: string;
  amount: string;
  to_available: string;
  to_restricted: string;
  to_platform: string;
  transaction_id: string;
  bonus_clawed: string;
  created_at: Date | string;
}

export interface FiringRow {
  rule_id: string;
  kind: string;
  rule_version: string;
  period: string;
  occasion: string;
  currency: string;
  basis: string;
  grant_id: string | null;
  discount_bps: number | null;
  reported_order: string | null;
  created_at: Date | string;
}

/** One order of one payee. */
export interface OrderKey {
  payeeId: string;
  orderReference: string;
}

export type SpendbackStore = ReturnType<typeof createSpendbackStore>;

export function createSpendbackStore(schema: string) {
  const t = qualifyTables(schema, {
    grants: 'credit_grants',
    orders: 'spendback_orders',
    allocations: 'spendback_allocations',
    refunds: 'spendback_refunds',
    firings: 'trigger_firings',
  });

  return {
    // ---- grants

    /** Inserts a grant (remaining = amount); undefined when the payee used the reference already. */
    async insertGrant(
      em: EntityManager,
      g: {
        id: string;
        payeeId: string;
        reference: string;
        currency: string;
        amount: string;
        source: 'manual' | 'rule';
        ruleId: string | null;
        ruleVersion: string | null;
        reason: string | null;
        expiresAt: Date;
      },
    ): Promise<GrantRow | undefined> {
      const [row] = await sql<GrantRow>(
        em,
        `INSERT INTO ${t.grants} (id, payee_id, reference, currency, amount, remaining, source, rule_id, rule_version, reason, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (payee_id, reference) DO NOTHING RETURNING *`,
        [
          g.id,
          g.payeeId,
          g.reference,
          g.currency,
          g.amount,
          g.source,
          g.ruleId,
          g.ruleVersion,
          g.reason,
          g.expiresAt.toISOString(),
        ],
      );
      return row;
    },

    /** The grant, row-locked until the transaction ends when `lock`. */
    async grant(em: EntityManager, grantId: string, lock = false): Promise<GrantRow | undefined> {
      const [row] = await sql<GrantRow>(
        em,
        `SELECT * FROM ${t.grants} WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
        [grantId],
      );
      return row;
    },

    async grantsOf(em: EntityManager, payeeId: string, status: 'active' | 'expired' | null) {
      return sql<GrantRow>(
        em,
        `SELECT * FROM ${t.grants} WHERE payee_id = $1 AND ($2::text IS NULL OR status = $2)
         ORDER BY status, expires_at, id`,
        [payeeId, status],
      );
    },

    /**
     * Locks the payee's spendable grants in the currency, soonest expiry first — the order every purchase,
     * refund and expiry of one wallet locks grants in.
     */
    async lockSpendableGrants(em: EntityManager, payeeId: string, currency: string, now: Date) {
      return sql<{ id: string; remaining: string }>(
        em,
        `SELECT id, remaining FROM ${t.grants}
          WHERE payee_id = $1 AND currency = $2 AND status = 'active' AND remaining > 0 AND expires_at > $3
          ORDER BY expires_at, id FOR UPDATE`,
        [payeeId, currency, now.toISOString()],
      );
    },

    /** Locks the order's grants and its bonus grant, in the order purchases lock grants. */
    async lockOrderGrants(em: EntityManager, order: OrderKey, bonusGrantId: string | null) {
      return sql<{ id: string; status: string; remaining: string; amount: string }>(
        em,
        `SELECT g.id, g.status, g.remaining, g.amount FROM ${t.grants} g
          WHERE g.id IN (SELECT grant_id FROM ${t.allocations} WHERE payee_id = $1 AND order_reference = $2)
             OR g.id = $3
          ORDER BY g.expires_at, g.id FOR UPDATE`,
        [order.payeeId, order.orderReference, bonusGrantId],
      );
    },

    /** Adds `delta` (negative to spend) to the grant's remaining credit. */
    async addToGrant(em: EntityManager, grantId: string, delta: bigint): Promise<void> {
      await sql(em, `UPDATE ${t.grants} SET remaining = remaining + $2 WHERE id = $1`, [
        grantId,
        delta.toString(),
      ]);
    },

    async expireGrant(em: EntityManager, grantId: string, returned: bigint, at: Date): Promise<GrantRow> {
      const [row] = await sql<GrantRow>(
        em,
        `UPDATE ${t.grants} SET status = 'expired', remaining = 0, expired_amount = $2, expired_at = $3
         WHERE id = $1 RETURNING *`,
        [grantId, returned.toString(), at.toISOString()],
      );
      return row!;
    },

    async markNoticeSent(em: EntityManager, grantId: string): Promise<void> {
      await sql(em, `UPDATE ${t.grants} SET notice_sent_at = coalesce(notice_sent_at, now()) WHERE id = $1`, [
        grantId,
      ]);
    },

    async markTimersStarted(em: EntityManager, grantIds: readonly string[]): Promise<void> {
      await sql(em, `UPDATE ${t.grants} SET timer_started = true WHERE id = ANY($1::text[])`, [grantIds]);
    },

    /** Active grants whose expiry timer never started, oldest first (at most 500). */
    async grantsWithoutTimer(em: EntityManager) {
      return sql<GrantRow>(
        em,
        `SELECT * FROM ${t.grants} WHERE NOT timer_started AND status = 'active' ORDER BY created_at LIMIT 500`,
      );
    },

    // ---- orders and their allocations

    async order(em: EntityManager, o: OrderKey, lock = false): Promise<OrderRow | undefined> {
      const [row] = await sql<OrderRow>(
        em,
        `SELECT * FROM ${t.orders} WHERE payee_id = $1 AND order_reference = $2${lock ? ' FOR UPDATE' : ''}`,
        [o.payeeId, o.orderReference],
      );
      return row;
    },

    /** A payee's orders, newest first (at most `limit`). */
    async ordersOf(em: EntityManager, payeeId: string, limit: number): Promise<OrderRow[]> {
      return sql<OrderRow>(
        em,
        `SELECT * FROM ${t.orders} WHERE payee_id = $1 ORDER BY created_at DESC, order_reference LIMIT $2`,
        [payeeId, limit],
      );
    },

    /** Claims the order; undefined when it exists already (a concurrent claim waits for this one first). */
    async claimOrder(
      em: EntityManager,
      o: OrderKey & {
        currency: string;
        amount: string;
        fromRestricted: bigint;
        fromAvailable: bigint;
        transactionId: string;
      },
    ): Promise<OrderRow | undefined> {
      const [row] = await sql<OrderRow>(
        em,
        `INSERT INTO ${t.orders} (payee_id, order_reference, currency, amount, from_restricted, from_available, transaction_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (payee_id, order_reference) DO NOTHING RETURNING *`,
        [
          o.payeeId,
          o.orderReference,
          o.currency,
          o.amount,
          o.fromRestricted.toString(),
          o.fromAvailable.toString(),
          o.transactionId,
        ],
      );
      return row;
    },

    /** Records what a purchase posted and earned: its ledger transaction, bonus grant and discount. */
    async completeOrder(
      em: EntityManager,
      o: OrderKey,
      done: { transactionId: string; bonusGrantId: string | null; discount: Discount | null },
    ): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.orders} SET transaction_id = $3, bonus_grant_id = $4, discount = $5::jsonb
          WHERE payee_id = $1 AND order_reference = $2`,
        [
          o.payeeId,
          o.orderReference,
          done.transactionId,
          done.bonusGrantId,
          done.discount ? JSON.stringify(done.discount) : null,
        ],
      );
    },

    /** Adds a refund's part to the order's refunded-from-available and clawed-back bonus. */
    async addRefundToOrder(
      em: EntityManager,
      o: OrderKey,
      toAvailable: bigint,
      clawed: bigint,
    ): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.orders} SET refunded_available = refunded_available + $3, bonus_clawed = bonus_clawed + $4
          WHERE payee_id = $1 AND order_reference = $2`,
        [o.payeeId, o.orderReference, toAvailable.toString(), clawed.toString()],
      );
    },

    async allocations(em: EntityManager, o: OrderKey): Promise<AllocationRow[]> {
      return sql<AllocationRow>(
        em,
        `SELECT grant_id, seq, amount, refunded FROM ${t.allocations}
          WHERE payee_id = $1 AND order_reference = $2 ORDER BY seq`,
        [o.payeeId, o.orderReference],
      );
    },

    async insertAllocation(
      em: EntityManager,
      o: OrderKey,
      a: { grantId: string; seq: number; amount: bigint },
    ): Promise<void> {
      await sql(
        em,
        `INSERT INTO ${t.allocations} (payee_id, order_reference, grant_id, seq, amount) VALUES ($1, $2, $3, $4, $5)`,
        [o.payeeId, o.orderReference, a.grantId, a.seq, a.amount.toString()],
      );
    },

    async addRefundToAllocation(
      em: EntityManager,
      o: OrderKey,
      grantId: string,
      amount: bigint,
    ): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.allocations} SET refunded = refunded + $4
          WHERE payee_id = $1 AND order_reference = $2 AND grant_id = $3`,
        [o.payeeId, o.orderReference, grantId, amount.toString()],
      );
    },

    // ---- refunds

    /** Minor units refunded of the order so far. */
    async refundedTotal(em: EntityManager, o: OrderKey): Promise<string> {
      const [row] = await sql<{ total: string }>(
        em,
        `SELECT coalesce(sum(amount), 0)::text AS total FROM ${t.refunds} WHERE payee_id = $1 AND order_reference = $2`,
        [o.payeeId, o.orderReference],
      );
      return row?.total ?? '0';
    },

    async refund(em: EntityManager, o: OrderKey, refundReference: string): Promise<RefundRow | undefined> {
      const [row] = await sql<RefundRow>(
        em,
        `SELECT * FROM ${t.refunds} WHERE payee_id = $1 AND order_reference = $2 AND refund_reference = $3`,
        [o.payeeId, o.orderReference, refundReference],
      );
      return row;
    },

    async insertRefund(
      em: EntityManager,
      o: OrderKey,
      r: {
        refundReference: string;
        amount: string;
        toAvailable: bigint;
        toRestricted: bigint;
        toPlatform: bigint;
        transactionId: string;
        clawed: bigint;
      },
    ): Promise<RefundRow> {
      const [row] = await sql<RefundRow>(
        em,
        `INSERT INTO ${t.refunds} (payee_id, order_reference, refund_reference, amount, to_available, to_restricted, to_platform, transaction_id, bonus_clawed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          o.payeeId,
          o.orderReference,
          r.refundReference,
          r.amount,
          r.toAvailable.toString(),
          r.toRestricted.toString(),
          r.toPlatform.toString(),
          r.transactionId,
          r.clawed.toString(),
        ],
      );
      return row!;
    },

    // ---- rule firings

    /** Claims the (rule, payee, occasion) key; false when it fired already. */
    async claimFiring(
      em: EntityManager,
      f: {
        ruleId: string;
        payeeId: string;
        occasion: string;
        kind: string;
        ruleVersion: string;
        period: string;
        currency: string;
        basis: bigint;
        discountBps: number | null;
      },
    ): Promise<boolean> {
      const rows = await sql(
        em,
        `INSERT INTO ${t.firings}
           (rule_id, payee_id, occasion, kind, rule_version, period, currency, basis, discount_bps)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (rule_id, payee_id, occasion) DO NOTHING RETURNING rule_id`,
        [
          f.ruleId,
          f.payeeId,
          f.occasion,
          f.kind,
          f.ruleVersion,
          f.period,
          f.currency,
          f.basis.toString(),
          f.discountBps,
        ],
      );
      return rows.length === 1;
    },

    async setFiringGrant(
      em: EntityManager,
      f: { ruleId: string; payeeId: string; occasion: string },
      grantId: string,
    ): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.firings} SET grant_id = $4 WHERE rule_id = $1 AND payee_id = $2 AND occasion = $3`,
        [f.ruleId, f.payeeId, f.occasion, grantId],
      );
    },

    /**
     * The oldest earned next-purchase discount not yet reported, marked reported with this order (locked
     * until the transaction ends); undefined when there is none.
     */
    async takeDiscount(em: EntityManager, o: OrderKey) {
      const [row] = await sql<{
        rule_id: string;
        occasion: string;
        rule_version: string;
        period: string;
        discount_bps: number;
      }>(
        em,
        `SELECT rule_id, occasion, rule_version, period, discount_bps FROM ${t.firings}
          WHERE payee_id = $1 AND kind = 'next_purchase_discount' AND reported_order IS NULL
          ORDER BY created_at, rule_id LIMIT 1 FOR UPDATE`,
        [o.payeeId],
      );
      if (!row) return undefined;
      await sql(
        em,
        `UPDATE ${t.firings} SET reported_order = $4 WHERE rule_id = $1 AND payee_id = $2 AND occasion = $3`,
        [row.rule_id, o.payeeId, row.occasion, o.orderReference],
      );
      return row;
    },

    /** A payee's firings, newest first. */
    async firingsOf(em: EntityManager, payeeId: string): Promise<FiringRow[]> {
      return sql<FiringRow>(
        em,
        `SELECT * FROM ${t.firings} WHERE payee_id = $1 ORDER BY created_at DESC, rule_id`,
        [payeeId],
      );
    },
  };
}
