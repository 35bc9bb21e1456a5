import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';

export interface LedgerViolation {
  readonly check:
    | 'transaction_unbalanced'
    | 'transaction_too_few_entries'
    | 'balance_not_sum_of_entries'
    | 'payee_balance_negative'
    | 'held_not_sum_of_open_holds';
  readonly message: string;
}

export interface LedgerReport {
  readonly ok: boolean;
  readonly violations: readonly LedgerViolation[];
  readonly counts: { readonly accounts: number; readonly transactions: number; readonly entries: number };
}

const LIMIT = 100;

/**
 * Checks every ledger invariant from the stored rows (independently of the triggers that should
 * already guarantee them). Tests of every area call it after each scenario.
 */
export async function verifyLedger(em: EntityManager, schema?: string): Promise<LedgerReport> {
  const s = schema ?? (em.config.get('schema') as string | undefined) ?? 'public';
  const accounts = qualify(s, 'ledger_accounts');
  const transactions = qualify(s, 'ledger_transactions');
  const entries = qualify(s, 'ledger_entries');
  const violations: LedgerViolation[] = [];

  for (const r of await sql<{ key: string; currency: string; total: string }>(
    em,
    `SELECT t.idempotency_key AS key, a.currency, sum(e.amount)::text AS total
       FROM ${entries} e JOIN ${accounts} a ON a.id = e.account_id JOIN ${transactions} t ON t.id = e.transaction_id
      GROUP BY t.id, t.idempotency_key, a.currency HAVING sum(e.amount) <> 0 ORDER BY t.id LIMIT ${LIMIT}`,
  )) {
    violations.push({
      check: 'transaction_unbalanced',
      message: `transaction '${r.key}': ${r.currency} entries sum to ${r.total}, not 0`,
    });
  }
  for (const r of await sql<{ key: string; n: string }>(
    em,
    `SELECT t.idempotency_key AS key, count(e.id)::text AS n
       FROM ${transactions} t LEFT JOIN ${entries} e ON e.transaction_id = t.id
      GROUP BY t.id, t.idempotency_key HAVING count(e.id) < 2 ORDER BY t.id LIMIT ${LIMIT}`,
  )) {
    violations.push({
      check: 'transaction_too_few_entries',
      message: `transaction '${r.key}' has ${r.n} entries`,
    });
  }
  for (const r of await sql<{
    kind: string;
    owner: string;
    currency: string;
    balance: string;
    total: string;
  }>(
    em,
    `SELECT a.kind, a.owner, a.currency, a.balance::text, coalesce(s.total, 0)::text AS total
       FROM ${accounts} a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ${entries} GROUP BY account_id) s
         ON s.account_id = a.id
      WHERE a.balance <> coalesce(s.total, 0) ORDER BY a.id LIMIT ${LIMIT}`,
  )) {
    violations.push({
      check: 'balance_not_sum_of_entries',
      message: `${r.kind} of ${r.owner} (${r.currency}): balance ${r.balance} but entries sum to ${r.total}`,
    });
  }
  for (const r of await sql<{ kind: string; owner: string; currency: string; balance: string }>(
    em,
    `SELECT kind, owner, currency, balance::text FROM ${accounts}
      WHERE kind IN ('payee_available', 'payee_held', 'payee_restricted') AND balance < 0 ORDER BY id LIMIT ${LIMIT}`,
  )) {
    violations.push({
      check: 'payee_balance_negative',
      message: `${r.kind} of ${r.owner} (${r.currency}) is negative: ${r.balance}`,
    });
  }
  // payee_held is moved only by hold / settle / release: it must equal the holds still open.
  for (const r of await sql<{ owner: string; currency: string; balance: string; open: string }>(
    em,
    `SELECT a.owner, a.currency, a.balance::text, coalesce(o.open, 0)::text AS open
       FROM ${accounts} a
       LEFT JOIN (
         SELECT e.account_id, sum(e.amount) AS open
           FROM ${transactions} h JOIN ${entries} e ON e.transaction_id = h.id
          WHERE h.type = 'hold'
            AND NOT EXISTS (SELECT 1 FROM ${transactions} r WHERE r.resolves_hold_id = h.id)
          GROUP BY e.account_id
       ) o ON o.account_id = a.id
      WHERE a.kind = 'payee_held' AND a.balance <> coalesce(o.open, 0) ORDER BY a.id LIMIT ${LIMIT}`,
  )) {
    violations.push({
      check: 'held_not_sum_of_open_holds',
      message: `payee_held of ${r.owner} (${r.currency}) is ${r.balance} but open holds total ${r.open}`,
    });
  }
  const [counts] = await sql<{ accounts: string; transactions: string; entries: string }>(
    em,
    `SELECT (SELECT count(*) FROM ${accounts})::text AS accounts,
            (SELECT count(*) FROM ${transactions})::text AS transactions,
            (SELECT count(*) FROM ${entries})::text AS entries`,
  );
  return {
    ok: violations.length === 0,
    violations,
    counts: {
      accounts: Number(counts?.accounts ?? 0),
      transactions: Number(counts?.transactions ?? 0),
      entries: Number(counts?.entries ?? 0),
    },
  };
}
