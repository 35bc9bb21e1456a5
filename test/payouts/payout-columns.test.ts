// The payout row's column list (PAYOUT_COLUMNS), which the prepared reads select instead of `p.*`, is every
// column of the migrated `payouts` table: a migration adding one fails here until the list (and PayoutRow,
// which the list is checked against) has it too.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { PAYOUT_COLUMNS, PayoutStore, payoutColumns } from '../../src/payouts/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('payout columns', { poolMax: 2 });
});
afterAll(async () => {
  await db.drop();
});

describe('payout columns', () => {
  it('are the columns of the payouts table after every migration', async () => {
    const rows = await sql<{ column_name: string }>(
      db.em(),
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'payouts' ORDER BY ordinal_position`,
      [db.schema],
    );
    expect([...PAYOUT_COLUMNS].sort()).toEqual(rows.map((r) => r.column_name).sort());
  });

  it('read the same row as SELECT *', async () => {
    const store = new PayoutStore(db.schema);
    const id = 'po_payoutcolumns1';
    await store.insert(db.em(), {
      id,
      payeeId: 'pe_x',
      amount: '1000',
      currency: 'EUR',
      scale: 2,
      method: 'wallet',
      instantRequested: true,
      requestedBy: 'test',
      requestedRole: 'platform',
    });
    const table = `"${db.schema}".payouts`;
    const [listed] = await sql(db.em(), `SELECT ${payoutColumns('p')} FROM ${table} p WHERE id = $1`, [id]);
    const [all] = await sql(db.em(), `SELECT * FROM ${table} WHERE id = $1`, [id]);
    expect(all).toBeDefined();
    expect(listed).toEqual(all);
    expect(Object.keys(listed!)).toEqual([...PAYOUT_COLUMNS]);
  });
});
