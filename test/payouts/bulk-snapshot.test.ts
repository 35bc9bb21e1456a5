// The bulk snapshot against PostgreSQL without a workflow: who is paid and who skipped, read from the
// ledger's balances page by page (a small page here, so the criteria hold across page boundaries).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { BulkCriteriaMismatch, createBulkService } from '../../src/payouts/bulk.ts';
import { WebhookOutbox } from '../../src/webhooks/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const operator = { actor: 'olga', role: 'operator' as const };

async function payee(id: string, country: string, o: { credit?: string; bank?: boolean } = {}) {
  await sql(
    db.em(),
    `INSERT INTO "${db.schema}".payees (id, external_id, name, email, country, default_currency, kyc_status, tax_form)
     VALUES ($1, $1, $1, $1 || '@example.com', $2, 'USD', 'verified', 'none')`,
    [id, country],
  );
  if (o.bank !== false)
    await sql(
      db.em(),
      `INSERT INTO "${db.schema}".payee_destinations (payee_id, kind, ciphertext, key_id, fingerprint, display, added_at, changed_at)
       VALUES ($1, 'bank_account', 'x', 'k1', $1, '{}'::jsonb, now(), now())`,
      [id],
    );
  if (o.credit)
    await new Ledger(db).creditEarnings({
      payeeId: id,
      amount: { amount: o.credit, currency: 'USD', scale: 2 },
      idempotencyKey: `earn:${id}`,
    });
}

beforeAll(async () => {
  db = await createTestDatabase('bulk snapshot');
  await payee('pe_a', 'FR', { credit: '100' });
  await payee('pe_b', 'DE', { credit: '200' });
  await payee('pe_c', 'FR', { credit: '5' });
  await payee('pe_d', 'FR', { credit: '300', bank: false });
  await payee('pe_e', 'DE', { credit: '400' });
  await payee('pe_f', 'FR', { credit: '500' });
  await payee('pe_g', 'FR', { credit: '600' });
  await payee('pe_h', 'FR', { credit: '700' });
  await payee('pe_i', 'FR');
  // A balance whose owner is no payee is never a candidate.
  await new Ledger(db).creditEarnings({
    payeeId: 'pe_ghost',
    amount: { amount: '900', currency: 'USD', scale: 2 },
    idempotencyKey: 'earn:ghost',
  });
});
afterAll(async () => {
  await db.drop();
});

describe('bulk snapshot', () => {
  const bulks = () =>
    createBulkService({ db, outbox: new WebhookOutbox({ db, endpoints: [] }), candidatePage: 2 });
  const take = (bulkId: string, criteria: Parameters<ReturnType<typeof bulks>['snapshot']>[1]['criteria']) =>
    bulks().snapshot(db.em(), {
      bulkId,
      criteria,
      requestedBy: operator,
      payoutIdOf: (payeeId) => `po_${bulkId}_${payeeId}`,
      audit: { ...operator, action: 'payout.bulk', objectType: 'bulk', objectId: bulkId },
    });

  it('pays whole balances of the country at or above the minimum, by payee id, up to the limit', async () => {
    const criteria = {
      currency: 'USD',
      method: 'bank_transfer' as const,
      country: 'FR',
      minBalance: '10',
      excludePayeeIds: ['pe_f'],
      limit: 4,
    };
    expect(await take('bulk_1', criteria)).toBe(true);
    const payouts = await bulks().payouts(db.em(), 'bulk_1');
    expect(payouts.map((p) => [p.payeeId, p.amount.amount])).toEqual([
      ['pe_a', '100'],
      ['pe_g', '600'],
    ]);
    const bulk = await bulks().get(db.em(), 'bulk_1');
    expect(bulk?.skipped).toEqual([
      { payeeId: 'pe_d', reason: 'no bank_account destination' },
      { payeeId: 'pe_f', reason: 'excluded by the request' },
    ]);
    expect(bulk?.payouts).toMatchObject({ total: 2, started: 0 });
    // Again with the same criteria: the same snapshot; with others: refused, nothing written.
    expect(await take('bulk_1', { ...criteria })).toBe(false);
    await expect(take('bulk_1', { ...criteria, limit: 5 })).rejects.toBeInstanceOf(BulkCriteriaMismatch);
    expect(await bulks().payouts(db.em(), 'bulk_1')).toHaveLength(2);
  });

  it('without a country takes every payee, across pages', async () => {
    expect(await take('bulk_2', { currency: 'USD', method: 'bank_transfer' })).toBe(true);
    const payouts = await bulks().payouts(db.em(), 'bulk_2');
    expect(payouts.map((p) => p.payeeId)).toEqual(['pe_a', 'pe_b', 'pe_c', 'pe_e', 'pe_f', 'pe_g', 'pe_h']);
    expect((await bulks().get(db.em(), 'bulk_2'))?.skipped).toEqual([
      { payeeId: 'pe_d', reason: 'no bank_account destination' },
    ]);
  });
});
