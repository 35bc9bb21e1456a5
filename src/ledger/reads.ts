// Reads and locks of the ledger tables for other modules, so that only src/ledger knows the tables and its
// lock order. Each takes the caller's EntityManager: inside the caller's transaction a lock lasts until it
// commits, and reads see its uncommitted postings.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import type { PayeeAccountKind } from './accounts.ts';

function tables(schema: string) {
  return {
    accounts: qualify(schema, 'ledger_accounts'),
    transactions: qualify(schema, 'ledger_transactions'),
    entries: qualify(schema, 'ledger_entries'),
  };
}

/**
 * Transaction types that are earnings: the API's credits (`earnings.*`, Ledger.creditEarnings) and a
 * period close's credits (`period.credit`).
 */
const EARNINGS_TYPES = `(t.type LIKE 'earnings.%' OR t.type = 'period.credit')`;

/** A payee account's balance in minor units. */
export interface PayeeAccountBalance {
  readonly owner: string;
  readonly kind: PayeeAccountKind;
  readonly currency: string;
  readonly balance: bigint;
}

/** A window of local calendar days: `from` inclusive, `to` exclusive (YYYY-MM-DD), in an IANA time zone. */
export interface DayWindow {
  readonly from: string;
  readonly to: string;
  readonly timezone: string;
}

/**
 * A scalar subquery of the payee's available balance as text (NULL when the account was never used), for a
 * caller that reads it in a statement of its own: `owner` and `currency` are SQL expressions of that statement.
 */
export function availableBalanceSubquery(schema: string, owner: string, currency: string): string {
  return `(SELECT a.balance::text FROM ${tables(schema).accounts} a
            WHERE a.kind = 'payee_available' AND a.owner = ${owner} AND a.currency = ${currency})`;
}

/** The payee's available balance in the currency (0 when the account was never used). */
export async function availableBalance(
  em: EntityManager,
  schema: string,
  payeeId: string,
  currency: string,
): Promise<bigint> {
  const [row] = await sql<{ balance: string }>(
    em,
    `SELECT balance::text AS balance FROM ${tables(schema).accounts}
      WHERE kind = 'payee_available' AND owner = $1 AND currency = $2`,
    [payeeId, currency],
  );
  return BigInt(row?.balance ?? '0');
}

/** Which of these idempotency keys are taken by a posted transaction. */
export async function postedKeys(
  em: EntityManager,
  schema: string,
  keys: readonly string[],
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await sql<{ idempotency_key: string }>(
    em,
    `SELECT idempotency_key FROM ${tables(schema).transactions} WHERE idempotency_key = ANY($1::text[])`,
    [keys],
  );
  return new Set(rows.map((r) => r.idempotency_key));
}

/** The posted transactions of these idempotency keys (those not posted are absent): id and creation time. */
export async function postedTransactions(
  em: EntityManager,
  schema: string,
  keys: readonly string[],
): Promise<Map<string, { id: string; createdAt: string }>> {
  if (keys.length === 0) return new Map();
  const rows = await sql<{ id: string; idempotency_key: string; created_at: Date | string }>(
    em,
    `SELECT id, idempotency_key, created_at FROM ${tables(schema).transactions}
      WHERE idempotency_key = ANY($1::text[])`,
    [keys],
  );
  return new Map(
    rows.map((r) => [r.idempotency_key, { id: r.id, createdAt: new Date(r.created_at).toISOString() }]),
  );
}

/**
 * Locks the payees' accounts of these kinds (every currency) in the ledger's own order — by account id,
 * as a posting locks them — and returns their balances. Postings on these accounts by others wait for the
 * caller's transaction; accounts that do not exist yet are neither locked nor returned.
 */
export async function lockPayeeBalances(
  em: EntityManager,
  schema: string,
  payeeIds: readonly string[],
  kinds: readonly PayeeAccountKind[],
): Promise<PayeeAccountBalance[]> {
  if (payeeIds.length === 0 || kinds.length === 0) return [];
  const rows = await sql<{ owner: string; kind: PayeeAccountKind; currency: string; balance: string }>(
    em,
    `SELECT owner, kind, currency, balance::text AS balance FROM ${tables(schema).accounts}
      WHERE kind = ANY($2::text[]) AND owner = ANY($1::text[])
      ORDER BY id FOR UPDATE`,
    [payeeIds, kinds],
  );
  return rows.map((r) => ({ ...r, balance: BigInt(r.balance) }));
}

/**
 * Locks one payee's wallet in one currency in a fixed order — available, then restricted — before a
 * posting locks the rest. An earnings credit that grants promotional credit posts to available first and
 * to restricted in a second posting of the same transaction; a purchase or refund that takes these two
 * locks in the same order first can never deadlock with it.
 */
export async function lockPayeeWallet(
  em: EntityManager,
  schema: string,
  payeeId: string,
  currency: string,
): Promise<void> {
  for (const kind of ['payee_available', 'payee_restricted'] as const) {
    await sql(
      em,
      `SELECT id FROM ${tables(schema).accounts} WHERE kind = $1 AND owner = $2 AND currency = $3 FOR UPDATE`,
      [kind, payeeId, currency],
    );
  }
}

/** Earnings credited to the payee's available balance in the currency within the window (minor units). */
export async function earningsCredited(
  em: EntityManager,
  schema: string,
  payeeId: string,
  currency: string,
  window: DayWindow,
): Promise<bigint> {
  const t = tables(schema);
  const [row] = await sql<{ total: string }>(
    em,
    `SELECT coalesce(sum(e.amount), 0)::text AS total
       FROM ${t.entries} e
       JOIN ${t.accounts} a ON a.id = e.account_id
       JOIN ${t.transactions} t ON t.id = e.transaction_id
      WHERE a.kind = 'payee_available' AND a.owner = $1 AND a.currency = $2
        AND ${EARNINGS_TYPES} AND e.amount > 0
        AND t.created_at >= ($3::date)::timestamp AT TIME ZONE $5 AND t.created_at < ($4::date)::timestamp AT TIME ZONE $5`,
    [payeeId, currency, window.from, window.to, window.timezone],
  );
  return BigInt(row?.total ?? '0');
}

/** Every (payee, currency) credited earnings within the window, ordered by payee and currency. */
export async function payeesCreditedEarnings(
  em: EntityManager,
  schema: string,
  window: DayWindow,
): Promise<{ payeeId: string; currency: string }[]> {
  const t = tables(schema);
  const rows = await sql<{ owner: string; currency: string }>(
    em,
    `SELECT DISTINCT a.owner, a.currency
       FROM ${t.entries} e
       JOIN ${t.accounts} a ON a.id = e.account_id
       JOIN ${t.transactions} t ON t.id = e.transaction_id
      WHERE a.kind = 'payee_available' AND ${EARNINGS_TYPES} AND e.amount > 0
        AND t.created_at >= ($1::date)::timestamp AT TIME ZONE $3 AND t.created_at < ($2::date)::timestamp AT TIME ZONE $3
      ORDER BY a.owner, a.currency`,
    [window.from, window.to, window.timezone],
  );
  return rows.map((r) => ({ payeeId: r.owner, currency: r.currency }));
}

/**
 * One page of available balances of at least `min` minor units in the currency, by payee id after
 * `after` (keyset: pass the last payee id of a page to get the next one).
 */
export async function availableBalancesPage(
  em: EntityManager,
  schema: string,
  page: { currency: string; min: bigint; after: string | null; limit: number },
): Promise<{ payeeId: string; available: bigint }[]> {
  const rows = await sql<{ owner: string; balance: string }>(
    em,
    `SELECT owner, balance::text AS balance FROM ${tables(schema).accounts}
      WHERE kind = 'payee_available' AND currency = $1 AND balance >= $2
        AND ($3::text IS NULL OR owner > $3)
      ORDER BY owner LIMIT $4`,
    [page.currency, page.min.toString(), page.after, page.limit],
  );
  return rows.map((r) => ({ payeeId: r.owner, available: BigInt(r.balance) }));
}
