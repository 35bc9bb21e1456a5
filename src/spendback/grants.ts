// Promotional credit grants: platform_funding(promotions) → payee_restricted, one row per grant tracking
// what is left; expiry returns the remainder to the platform and is driven by the grant's workflow timer.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreditGrantExpiry, CreditGrantTimerInput } from '../../workflows/credit-grant-contract.ts';
import { type Money, money } from '../money/index.ts';
import { webhookEventId } from '../webhooks/index.ts';
import { grantIdFor, PROMOTIONS, type SpendbackContext } from './context.ts';
import { SpendbackError } from './errors.ts';
import type { GrantRow } from './store.ts';

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
  const id = grantIdFor(input.payeeId, input.reference);
  const now = ctx.now();
  if (input.expiresAt.getTime() <= now.getTime()) {
    throw new SpendbackError('validation_failed', 'grant_expiry_past', 'expiresAt must be in the future');
  }
  const row = await ctx.store.insertGrant(em, {
    id,
    payeeId: input.payeeId,
    reference: input.reference,
    currency: input.amount.currency,
    amount: input.amount.amount,
    source: input.source,
    ruleId: input.ruleId ?? null,
    ruleVersion: input.ruleVersion ?? null,
    reason: input.reason ?? null,
    expiresAt: input.expiresAt,
  });
  if (!row) {
    const existing = await ctx.store.grant(em, id);
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
  return (await ctx.store.grantsOf(em, payeeId, status ?? null)).map(grantView);
}

/** credit.expiring_soon for a grant with something left (idempotent event id). */
export async function announceExpiry(
  ctx: SpendbackContext,
  grantId: string,
): Promise<{ eventId: string | null }> {
  return ctx.db.em().transactional(async (em) => {
    const row = await ctx.store.grant(em, grantId, true);
    if (row?.status !== 'active' || BigInt(row.remaining) === 0n) return { eventId: null };
    const eventId = webhookEventId('credit.expiring_soon', grantId);
    await ctx.outbox.enqueue(
      { id: eventId, type: 'credit.expiring_soon', occurredAt: ctx.now(), data: { grant: grantView(row) } },
      em,
    );
    await ctx.store.markNoticeSent(em, grantId);
    return { eventId };
  });
}

/** Returns the unspent remainder to the platform and marks the grant expired; replays answer the same. */
export async function expireGrant(ctx: SpendbackContext, grantId: string): Promise<CreditGrantExpiry> {
  return ctx.db.em().transactional(async (em) => {
    const row = await ctx.store.grant(em, grantId, true);
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
    const updated = await ctx.store.expireGrant(em, grantId, remaining, ctx.now());
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
  const rows = await ctx.store.grantsWithoutTimer(em);
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
