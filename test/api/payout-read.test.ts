// GET /v1/payouts/:id is read from the payout's record and its ledger postings: no workflow query (the
// gateway here reaches no Temporal at all), the recorded column is the state (a return recorded after the
// workflow closed included), and the postings come from the ledger.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { money } from '../../src/money/index.ts';
import { ledgerKeys } from '../../src/payouts/service.ts';
import type { TestDatabase } from '../support/db.ts';
import { startPayoutApi } from './payout-support.ts';
import type { TestApi } from './support.ts';

let db: TestDatabase;
let api: TestApi;
let close: () => Promise<void>;
let payeeId: string;

beforeAll(async () => {
  ({ db, api, close } = await startPayoutApi('payout_read'));
  payeeId = (await api.createPayee()).id;
});
afterAll(async () => {
  await close?.();
});

async function insertPayout(id: string, state: string, doc: Record<string, unknown>) {
  await sql(
    db.em(),
    `INSERT INTO "${db.schema}".payouts (id, payee_id, amount, currency, scale, method, instant_requested,
       state, rail, provider, fee, requested_by, requested_role, state_doc)
     VALUES ($1, $2, 2500, 'USD', 2, 'bank_transfer', true, $3, 'instant', 'sandbox', 50, 'acme-backend',
       'platform', $4::jsonb)`,
    [id, payeeId, state, JSON.stringify(doc)],
  );
}

const attempt = {
  attemptNo: 1,
  provider: 'sandbox',
  idempotencyKey: 'k:1',
  outcome: 'paid',
  detail: 'ok',
};

describe('GET /v1/payouts/:id', () => {
  it('answers from the record and the ledger, without the workflow', async () => {
    const id = 'po_readmodel0001';
    await insertPayout(id, 'pending_approval', {
      payoutId: id,
      state: 'pending_approval',
      approvalsRequired: 2,
      approvals: [
        { actor: 'alice', decision: 'approve', reason: 'known payee', at: '2026-11-30T12:00:00.000Z' },
      ],
      attempts: [],
      reasons: [{ code: 'approval_required', message: 'above the dual-control threshold' }],
      nextTimer: { purpose: 'approval_timeout', at: '2026-12-01T12:00:00.000Z' },
      fee: money(50n, 'USD'),
    });
    await api.ledger.creditEarnings({
      payeeId,
      amount: money(10_000n, 'USD'),
      idempotencyKey: `credit:${id}`,
    });
    const hold = await api.ledger.hold({
      payeeId,
      amount: money(2500n, 'USD'),
      idempotencyKey: ledgerKeys.hold(id),
    });

    const res = await api.call('GET', `/v1/payouts/${id}`, { key: api.keys.operator.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      state: 'pending_approval',
      live: false,
      approvalsRequired: 2,
      approvals: [expect.objectContaining({ actor: 'alice', decision: 'approve' })],
      reasons: [{ code: 'approval_required', message: 'above the dual-control threshold' }],
      nextTimer: { purpose: 'approval_timeout', at: '2026-12-01T12:00:00.000Z' },
      fee: { amount: '50', currency: 'USD', scale: 2 },
      ledger: [{ step: 'hold', transactionId: hold.id, at: hold.createdAt }],
    });
  });

  it('lists it among pending approvals from its record: who approved, its timer, whether the caller may decide', async () => {
    const asAlice = await api.call('GET', '/v1/approvals/pending', { key: api.keys.approver.key });
    expect(asAlice.status).toBe(200);
    expect(asAlice.body.items).toEqual([
      expect.objectContaining({
        payoutId: 'po_readmodel0001',
        why: [
          '25.00 USD ≥ dual-control threshold 20.00',
          'approval_required: above the dual-control threshold',
        ],
        approvalsRequired: 2,
        approvedBy: ['alice'],
        callerMayDecide: false,
        timer: { purpose: 'approval_timeout', at: '2026-12-01T12:00:00.000Z' },
      }),
    ]);
    const asOperator = await api.call('GET', '/v1/approvals/pending', { key: api.keys.operator.key });
    expect(asOperator.body.items[0].callerMayDecide).toBe(true);
  });

  it('shows a return recorded after the workflow closed, though the state doc still says paid', async () => {
    const id = 'po_readmodel0002';
    await insertPayout(id, 'returned', {
      payoutId: id,
      state: 'paid',
      approvalsRequired: 0,
      attempts: [attempt],
      reasons: [],
    });
    const res = await api.call('GET', `/v1/payouts/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'returned', live: false, attempts: [attempt], ledger: [] });
  });

  it("shows a payee token its own payout redacted, and another payee's as not found", async () => {
    const id = 'po_readmodel0003';
    await insertPayout(id, 'paid', {
      payoutId: id,
      state: 'paid',
      approvalsRequired: 1,
      approvals: [{ actor: 'alice', decision: 'approve', reason: 'fine', at: '2026-11-30T12:00:00.000Z' }],
      attempts: [attempt],
      reasons: [{ code: 'route_instant', message: 'instant' }],
    });
    const own = await api.call('GET', `/v1/payouts/${id}`, { key: await api.payeeToken(payeeId) });
    expect(own.status).toBe(200);
    expect(own.body).not.toHaveProperty('approvals');
    expect(own.body).not.toHaveProperty('requestedBy');
    expect(own.body.attempts).toEqual([
      { attemptNo: 1, provider: 'sandbox', idempotencyKey: 'k:1', outcome: 'paid' },
    ]);
    const other = (await api.createPayee()).id;
    const theirs = await api.call('GET', `/v1/payouts/${id}`, { key: await api.payeeToken(other) });
    expect(theirs.status).toBe(404);
    expect(theirs.body.detail).toBe(`Payout ${id} not found`);
  });
});
