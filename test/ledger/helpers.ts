import { expect } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import type { TestDatabase } from '../support/db.ts';

export const usd = (amount: string | number) => ({ amount: String(amount), currency: 'USD', scale: 2 });
export const eur = (amount: string | number) => ({ amount: String(amount), currency: 'EUR', scale: 2 });

export async function expectLedgerValid(db: TestDatabase): Promise<void> {
  const report = await verifyLedger(db.em(), db.schema);
  expect(report.violations).toEqual([]);
}

export async function rowCounts(db: TestDatabase): Promise<{ transactions: number; entries: number }> {
  const [r] = await sql<{ t: string; e: string }>(
    db.em(),
    `SELECT (SELECT count(*) FROM "${db.schema}".ledger_transactions)::text AS t,
            (SELECT count(*) FROM "${db.schema}".ledger_entries)::text AS e`,
  );
  return { transactions: Number(r?.t), entries: Number(r?.e) };
}
