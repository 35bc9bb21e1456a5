import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { Ledger, verifyLedger } from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { usd } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('ledger verify');
});
afterAll(async () => {
  await db.drop();
});

describe('verifyLedger', () => {
  it('passes on a healthy ledger and names each violation once the tables are tampered with', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-v', amount: usd('1000'), idempotencyKey: 'earn:v' });
    await ledger.hold({ payeeId: 'p-v', amount: usd('400'), idempotencyKey: 'hold:v' });
    expect(await verifyLedger(db.em(), db.schema)).toMatchObject({
      ok: true,
      violations: [],
      counts: { transactions: 2, entries: 4, accounts: 3 },
    });

    // Tamper with the triggers and checks off (only a superuser could do this in production).
    const s = `"${db.schema}"`;
    await db.em().transactional(async (tx) => {
      await sql(tx, `ALTER TABLE ${s}.ledger_accounts DISABLE TRIGGER ALL`);
      await sql(tx, `ALTER TABLE ${s}.ledger_entries DISABLE TRIGGER ALL`);
      await sql(
        tx,
        `ALTER TABLE ${s}.ledger_accounts DROP CONSTRAINT ledger_accounts_payee_balance_not_negative`,
      );
      await sql(tx, `UPDATE ${s}.ledger_accounts SET balance = -7 WHERE kind = 'payee_available'`);
      await sql(tx, `UPDATE ${s}.ledger_accounts SET balance = 999 WHERE kind = 'payee_held'`);
      await sql(
        tx,
        `INSERT INTO ${s}.ledger_entries (transaction_id, account_id, amount)
         SELECT t.id, a.id, 5 FROM ${s}.ledger_transactions t, ${s}.ledger_accounts a
          WHERE t.idempotency_key = 'earn:v' AND a.kind = 'payee_held'`,
      );
    });
    const report = await verifyLedger(db.em(), db.schema);
    expect(report.ok).toBe(false);
    const checks = report.violations.map((v) => v.check).sort();
    expect(checks).toEqual([
      'balance_not_sum_of_entries',
      'balance_not_sum_of_entries',
      'held_not_sum_of_open_holds',
      'payee_balance_negative',
      'transaction_unbalanced',
    ]);
    expect(report.violations.find((v) => v.check === 'transaction_unbalanced')?.message).toMatch(
      /transaction 'earn:v': USD entries sum to 5/,
    );
  });
});
