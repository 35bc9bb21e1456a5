// Promotional credit grants: platform_funding(promotions) → payee_restricted, one row per grant tracking
// what is left; expiry returns the remainder to the platform and is driven by the grant's workflow timer.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreditGrantExpiry, CreditGrantTimerInput } from '../../workflows/credit-grant-contract.ts';
import { sql } from '../db/sql.ts';
import { type Money, money } from '../money/index.ts';
import { webhookEventId } from '../webhooks/index.ts';
import { grantIdFor, PROMOTIONS, type SpendbackContext, table } from './context.ts';
import { SpendbackError } from './errors.ts';

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

export interface GrantView {
  id: string;
  payeeId: string;
  reference: string;
  amount: Money;
  remaining: Money;
  status: 'active' | 'expired';
  source: 'manual' | 'rule';
  ruleId: string | null;
  ruleVersion: string | null;
  reason: string | null;
  expiresAt: string;
  expiredAt: string | null;
  expiredAmount: Money | null;
  createdAt: string;
}

export function grantView(r: GrantRow): GrantView {
  return {
    id: r.id,
    payeeId: r.payee_id,
    reference: r.reference,
    amount: money(r.amount, r.currency),
    remaining: money(r.remaining, r.currency),
    status: r.status,
    source: r.source,
    ruleId: r.rule_id,
    ruleVersion: r.rule_version,
    reason: r.reason,
    expiresAt: iso(r.expires_at),
    expiredAt: r.expired_at === null ? null : iso(r.expired_at),
    expiredAmount: r.expired_amount === null ? null : money(r.expired_amount, r.currency),
    createdAt: iso(r.created_at),
  };
}

function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

export interface GrantInput {
  payeeId: string;
  amount: Money;
  /** Business reference; a payee gets at most one grant per reference. */
  reference: string;
  expiresAt: Date;
  source: 'manual' | 'rule';
  ruleId?: string;
  ruleVersion?: string;
  period?: string;
  reason?: string;
}

export interface GrantResult {
  grant: GrantView;
  replayed: boolean;
  /** Timer to start for a new grant (after everything else in the transaction). */
  timer: CreditGrantTimerInput | null;
}

/** Creates a grant in `em`'s transaction (ledger posting, grant row, credit.granted outbox event). */
export async function createGrant(
  ctx: SpendbackContext,
  em: EntityManager,
  input: GrantInput,
): Promise<GrantResult> {
  const t = table(ctx, 'credit_grants');
  const id = grantIdFor(input.payeeId, input.reference);
  const now = ctx.now();
  if (input.expiresAt.getTime() <= now.getTime()) {
    throw new SpendbackError('validation_failed', 'grant_expiry_past', 'expiresAt must be in the future');
  }
  const inserted = await sql<GrantRow>(
    em,
    `INSERT INTO ${t} (id, payee_id, reference, currency, amount, remaining, source, rule_id, rule_version, reason, expires_at)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (payee_id, reference) DO NOTHING RETURNING *`,
    [
      id,
      input.payeeId,
      input.reference,
      input.amount.currency,
      input.amount.amount,
      input.source,
      input.ruleId ?? null,
      input.ruleVersion ?? null,
      input.reason ?? null,
      input.expiresAt.toISOString(),
    ],
  );
  const row = inserted[0];
  if (!row) {
    const existing = (await sql<GrantRow>(em, `SELECT * FROM ${t} WHERE id = $1`, [id]))[0];
    if (!existing || existing.amount !== input.amount.amount || existing.currency !== input.amount.currency) {
      throw new SpendbackError(
        'conflict',
        'grant_reference_reused',
        `grant reference "${input.reference}" was already used for a different amount; use a new reference`,
      );
    }
    return { grant: grantView(existing), replayed: true, timer: null };
  }
  const expiresAt = input.expiresAt.toISOString();
  await ctx.ledger.within(em).post({
    type: 'credit.grant',
    idempotencyKey: `credit-grant:${id}`,
    metadata: {
      payeeId: input.payeeId,
      grantId: id,
      reference: input.reference,
      expiresAt,
      ...(input.ruleId ? { ruleId: input.ruleId, ruleVersion: input.ruleVersion, period: input.period } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    },
    entries: [
      { account: { kind: 'platform_funding', owner: PROMOTIONS }, amount: neg(input.amount) },
      { account: { kind: 'payee_restricted', owner: input.payeeId }, amount: input.amount },
    ],
  });
  const grant = grantView(row);
  const grantedEventId = webhookEventId('credit.granted', id);
  await ctx.outbox.enqueue(
    { id: grantedEventId, type: 'credit.granted', occurredAt: now, data: { grant } },
    em,
  );
  const expiresInMs = input.expiresAt.getTime() - now.getTime();
  return {
    grant,
    replayed: false,
    timer: { grantId: id, expiresInMs, noticeMs: ctx.settings.expiryNoticeMs, grantedEventId },
  };
}

export async function listGrants(
  ctx: SpendbackContext,
  em: EntityManager,
  payeeId: string,
  status?: 'active' | 'expired',
): Promise<GrantView[]> {
  const rows = await sql<GrantRow>(
    em,
    `SELECT * FROM ${table(ctx, 'credit_grants')} WHERE payee_id = $1 AND ($2::text IS NULL OR status = $2)
     ORDER BY status, expires_at, id`,
    [payeeId, status ?? null],
  );
  return rows.map(grantView);
}

/** credit.expiring_soon for a grant with something left (idempotent event id). */
export async function announceExpiry(
  ctx: SpendbackContext,
  grantId: string,
): Promise<{ eventId: string | null }> {
  return ctx.db.em().transactional(async (em) => {
    const row = (
      await sql<GrantRow>(em, `SELECT * FROM ${table(ctx, 'credit_grants')} WHERE id = $1 FOR UPDATE`, [
        grantId,
      ])
    )[0];
    if (row?.status !== 'active' || BigInt(row.remaining) === 0n) return { eventId: null };
    const eventId = webhookEventId('credit.expiring_soon', grantId);
    await ctx.outbox.enqueue(
      { id: eventId, type: 'credit.expiring_soon', occurredAt: ctx.now(), data: { grant: grantView(row) } },
      em,
    );
    await sql(
      em,
      `UPDATE ${table(ctx, 'credit_grants')} SET notice_sent_at = coalesce(notice_sent_at, now()) WHERE id = $1`,
      [grantId],
    );
    return { eventId };
  });
}

/** Returns the unspent remainder to the platform and marks the grant expired; replays answer the same. */
export async function expireGrant(ctx: SpendbackContext, grantId: string): Promise<CreditGrantExpiry> {
  return ctx.db.em().transactional(async (em) => {
    const t = table(ctx, 'credit_grants');
    const row = (await sql<GrantRow>(em, `SELECT * FROM ${t} WHERE id = $1 FOR UPDATE`, [grantId]))[0];
    const eventId = webhookEventId('credit.expired', grantId);
    if (!row) return { grantId, outcome: 'absent', returned: '0', eventId: null };
    if (row.status === 'expired') {
      return { grantId, outcome: 'already_expired', returned: row.expired_amount ?? '0', eventId };
    }
    const remaining = BigInt(row.remaining);
    if (remaining > 0n) {
      const amount = money(remaining, row.currency);
      await ctx.ledger.within(em).post({
        type: 'credit.expire',
        idempotencyKey: `credit-grant-expiry:${grantId}`,
        metadata: { payeeId: row.payee_id, grantId, reference: row.reference },
        entries: [
          { account: { kind: 'payee_restricted', owner: row.payee_id }, amount: neg(amount) },
          { account: { kind: 'platform_funding', owner: PROMOTIONS }, amount },
        ],
      });
    }
    const updated = (
      await sql<GrantRow>(
        em,
        `UPDATE ${t} SET status = 'expired', remaining = 0, expired_amount = $2, expired_at = $3
         WHERE id = $1 RETURNING *`,
        [grantId, remaining.toString(), ctx.now().toISOString()],
      )
    )[0]!;
    await ctx.outbox.enqueue(
      { id: eventId, type: 'credit.expired', occurredAt: ctx.now(), data: { grant: grantView(updated) } },
      em,
    );
    return { grantId, outcome: 'expired', returned: remaining.toString(), eventId };
  });
}

/** Grants whose timer never started (created by a process without a Temporal client); start them now. */
export async function pendingTimers(
  ctx: SpendbackContext,
  em: EntityManager,
): Promise<CreditGrantTimerInput[]> {
  const rows = await sql<GrantRow>(
    em,
    `SELECT * FROM ${table(ctx, 'credit_grants')} WHERE NOT timer_started AND status = 'active' ORDER BY created_at LIMIT 500`,
  );
  const now = ctx.now().getTime();
  return rows.map((r) => ({
    grantId: r.id,
    expiresInMs: Math.max(0, new Date(r.expires_at).getTime() - now),
    noticeMs: ctx.settings.expiryNoticeMs,
    grantedEventId: webhookEventId('credit.granted', r.id),
  }));
}

export function neg(m: Money): Money {
  return { ...m, amount: (-BigInt(m.amount)).toString() };
}
