// Row mapping and queries on sandbox_disbursements shared by the provider and the test/ops queries.

import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';

export type DisbursementState = 'pending' | 'paid' | 'failed' | 'returned';

export interface SandboxDisbursement {
  provider: string;
  idempotencyKey: string;
  payoutId: string;
  amountMinor: bigint;
  currency: string;
  scale: number;
  method: string;
  rail: 'instant' | 'batch';
  payeeId: string;
  destinationMasked: string;
  providerRef: string;
  /** The behaviour chosen for this payout (see scenario.ts). */
  scenario: string;
  state: DisbursementState;
  plannedOutcome: 'paid' | 'failed' | 'never';
  reason: string | null;
  settleAt: Date | null;
  returnAt: Date | null;
  createdAt: Date;
  paidAt: Date | null;
  failedAt: Date | null;
  returnedAt: Date | null;
}

export interface DisbursementRow {
  provider: string;
  idempotency_key: string;
  payout_id: string;
  amount_minor: string | number | bigint;
  currency: string;
  scale: number;
  method: string;
  rail: 'instant' | 'batch';
  payee_id: string;
  destination_masked: string;
  provider_ref: string;
  scenario: string;
  state: DisbursementState;
  planned_outcome: 'paid' | 'failed' | 'never';
  reason: string | null;
  settle_at: Date | string | null;
  return_at: Date | string | null;
  created_at: Date | string;
  paid_at: Date | string | null;
  failed_at: Date | string | null;
  returned_at: Date | string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

export function toDisbursement(r: DisbursementRow): SandboxDisbursement {
  return {
    provider: r.provider,
    idempotencyKey: r.idempotency_key,
    payoutId: r.payout_id,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    scale: Number(r.scale),
    method: r.method,
    rail: r.rail,
    payeeId: r.payee_id,
    destinationMasked: r.destination_masked,
    providerRef: r.provider_ref,
    scenario: r.scenario,
    state: r.state,
    plannedOutcome: r.planned_outcome,
    reason: r.reason,
    settleAt: date(r.settle_at),
    returnAt: date(r.return_at),
    createdAt: new Date(r.created_at),
    paidAt: date(r.paid_at),
    failedAt: date(r.failed_at),
    returnedAt: date(r.returned_at),
  };
}

/** Every sandbox disbursement (all providers), optionally for one payout, oldest first. */
export async function listSandboxDisbursements(
  db: Database,
  filter: { payoutId?: string; provider?: string } = {},
): Promise<SandboxDisbursement[]> {
  const rows = await sql<DisbursementRow>(
    db.em(),
    `SELECT * FROM ${qualify(db.schema, 'sandbox_disbursements')}
     WHERE ($1::text IS NULL OR payout_id = $1) AND ($2::text IS NULL OR provider = $2)
     ORDER BY created_at, provider, idempotency_key`,
    [filter.payoutId ?? null, filter.provider ?? null],
  );
  return rows.map(toDisbursement);
}

/**
 * Payouts with more than one disbursement that moved or may still move money (pending, paid or returned)
 * across ALL sandbox providers. Must always be empty: "each payout is disbursed at most once".
 */
export async function payoutsDisbursedMoreThanOnce(
  db: Database,
): Promise<{ payoutId: string; count: number; providers: string[] }[]> {
  const rows = await sql<{ payout_id: string; n: string | number; providers: string[] }>(
    db.em(),
    `SELECT payout_id, count(*) AS n, array_agg(provider || '/' || idempotency_key ORDER BY created_at, provider, idempotency_key) AS providers
     FROM ${qualify(db.schema, 'sandbox_disbursements')}
     WHERE state IN ('pending', 'paid', 'returned')
     GROUP BY payout_id HAVING count(*) > 1 ORDER BY payout_id`,
  );
  return rows.map((r) => ({ payoutId: r.payout_id, count: Number(r.n), providers: r.providers }));
}

export interface SandboxTotals {
  currency: string;
  /** Currently paid (money with the payee): compare with the ledger's settled total. */
  paidMinor: bigint;
  /** Paid and later returned (money came back). */
  returnedMinor: bigint;
  pendingMinor: bigint;
  failedMinor: bigint;
  paidCount: number;
}

/** Totals per currency across all sandbox providers (or one). */
export async function sandboxTotals(db: Database, provider?: string): Promise<SandboxTotals[]> {
  const rows = await sql<{
    currency: string;
    paid: string;
    returned: string;
    pending: string;
    failed: string;
    paid_count: string | number;
  }>(
    db.em(),
    `SELECT currency,
       coalesce(sum(amount_minor) FILTER (WHERE state = 'paid'), 0)::text AS paid,
       coalesce(sum(amount_minor) FILTER (WHERE state = 'returned'), 0)::text AS returned,
       coalesce(sum(amount_minor) FILTER (WHERE state = 'pending'), 0)::text AS pending,
       coalesce(sum(amount_minor) FILTER (WHERE state = 'failed'), 0)::text AS failed,
       count(*) FILTER (WHERE state = 'paid') AS paid_count
     FROM ${qualify(db.schema, 'sandbox_disbursements')}
     WHERE ($1::text IS NULL OR provider = $1)
     GROUP BY currency ORDER BY currency`,
    [provider ?? null],
  );
  return rows.map((r) => ({
    currency: r.currency,
    paidMinor: BigInt(r.paid),
    returnedMinor: BigInt(r.returned),
    pendingMinor: BigInt(r.pending),
    failedMinor: BigInt(r.failed),
    paidCount: Number(r.paid_count),
  }));
}
